#include "platform/snp/snp_main.h"

#include <new>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/exceptions.h"
#include "arch/x86_64/guarded_access.h"
#include "console/log.h"
#include "console/uart16550.h"
#include "cvtpm/crypto/hkdf.h"
#include "cvtpm/formats/boot/boot_params.h"
#include "cvtpm/formats/snp/cpuid_page.h"
#include "cvtpm/formats/snp/ghcb_msr_protocol.h"
#include "cvtpm/snp/exception_gate.h"
#include "cvtpm/snp/firmware.h"
#include "cvtpm/snp/ghcb_msr.h"
#include "cvtpm/vtpm/tpm_engine.h"
#include "mm/firmware_heap.h"
#include "mm/heap_allocator.h"
#include "panic/panic.h"
#include "platform/native/native_platform.h"
#include "platform/persistent_tpm.h"
#include "platform/snp/ap_contexts.h"
#include "platform/snp/pool_pages.h"
#include "platform/snp/x86_snp_hardware.h"

namespace cvtpm::fw::snp_platform {

namespace boot = formats::boot;
namespace fs = formats::snp;

namespace {

constexpr int kHvVector = 28;
constexpr int kVcVector = 29;

// The firmware log for the SNP code.
class FirmwareLog final : public snp::Log {
 public:
  void vwrite(snp::LogLevel level, const char* format, std::va_list args) override {
    log::vwrite(static_cast<log::Level>(static_cast<int>(level)), format, args);
  }
};

// Port I/O through the boot vCPU's GHCB. A failure cannot be reported on the console it is:
// the guest is terminated.
class GhcbPortIo final : public console::PortIo {
 public:
  std::uint8_t read8(std::uint16_t port) override;
  void write8(std::uint16_t port, std::uint8_t value) override;
};

constinit X86SnpHardware g_hardware;
// The firmware region is identity mapped; guest memory is reached through the guest window of
// the final page tables once they are active (use_guest_window()).
constinit snp::AddressSpace g_address_space{boot::kFirmwareBase,
                                            boot::kFirmwareBase + boot::kFirmwareRegionSize, 0};
constinit FirmwareLog g_log;
constinit GhcbPortIo g_port_io;
// The boot vCPU's GHCB and the spare table for splitting the boot mapping around it: pages of
// the launched image (.bss), so validated before the firmware runs.
alignas(4096) std::uint8_t g_boot_ghcb[4096];
alignas(4096) std::uint64_t g_boot_split_table[512];
std::uint64_t g_shared_pages[1];
bool g_active = false;
// The SNP state lives for the whole boot; constructed in place (no heap that early).
alignas(snp::SnpFirmware) unsigned char g_firmware_storage[sizeof(snp::SnpFirmware)];
snp::SnpFirmware* g_firmware = nullptr;

[[noreturn]] void terminate_now(std::uint8_t reason) {
  snp::msr_protocol::request_termination(g_hardware, fs::ghcb_msr::kReasonSetGeneral, reason);
  x86::halt_forever();
}

std::uint8_t GhcbPortIo::read8(std::uint16_t port) {
  snp::GhcbClient* ghcb = current_ghcb();
  if (ghcb == nullptr) terminate_now(fs::ghcb_msr::kReasonGeneral);
  const auto value = ghcb->io_in(port, 1);
  if (!value) terminate_now(fs::ghcb_msr::kReasonGeneral);
  return static_cast<std::uint8_t>(value.value());
}

void GhcbPortIo::write8(std::uint16_t port, std::uint8_t value) {
  snp::GhcbClient* ghcb = current_ghcb();
  if (ghcb == nullptr || !ghcb->io_out(port, 1, value)) terminate_now(fs::ghcb_msr::kReasonGeneral);
}

bool vc_exception(x86::ExceptionFrame& frame) {
  snp::VcRegisters regs{frame.rax, frame.rbx, frame.rcx, frame.rdx, frame.rip};
  // The instruction is the firmware's own code (#VC is raised for it, at CPL0 in VMPL0).
  const snp::VcException vc{frame.error_code,
                            {reinterpret_cast<const std::uint8_t*>(frame.rip), 15},
                            x86::guarded_fault_resume(frame.rip)};
  const snp::VcResult result = current_exception_gate().on_vc(
      g_hardware, vc, regs, g_firmware->cpuid(), x86::read_cr4(), current_ghcb());
  if (result == snp::VcResult::kNested || result == snp::VcResult::kGhcbBusy) {
    x86::halt_forever();  // termination is requested; nothing here may run on
  }
  if (result != snp::VcResult::kHandled) {
    log::error("snp: #VC for exit code 0x%lx at 0x%lx: %s",
               static_cast<unsigned long>(frame.error_code), static_cast<unsigned long>(frame.rip),
               snp::describe(result));
    return false;  // the runtime's exception report follows
  }
  frame.rax = regs.rax;
  frame.rbx = regs.rbx;
  frame.rcx = regs.rcx;
  frame.rdx = regs.rdx;
  frame.rip = regs.rip;
  return true;
}

// #HV (Restricted Injection's only injectable event): no doorbell page is registered, so there is
// nothing to process (snp/exception_gate.h).
bool hv_exception(x86::ExceptionFrame&) {
  if (!current_exception_gate().on_hv(g_hardware)) x86::halt_forever();
  return true;
}

}  // namespace

snp::SnpFirmware& firmware() {
  return *g_firmware;
}

X86SnpHardware& boot_hardware() {
  return g_hardware;
}

bool is_snp_entry(std::uint32_t entry_eax) {
  return (entry_eax & ~boot::kEntryPlatformMask) == boot::kEntryMagic &&
         (entry_eax & boot::kEntryPlatformMask) ==
             static_cast<std::uint32_t>(boot::EntryPlatform::kSnp);
}

void early_boot(std::uint64_t boot_params_gpa) {
  g_active = true;
  // The C-bit position for changing mappings, from the PSP-checked CPUID page (the 32-bit entry
  // took it from there too). BootParams itself is checked by SnpFirmware::early().
  const auto* params = reinterpret_cast<const boot::BootParams*>(boot_params_gpa);
  if (boot_params_gpa == 0 || params->magic != boot::kBootParamsMagic) {
    terminate_now(fs::ghcb_msr::kReasonGeneral);
  }
  snp::CpuidTable cpuid;
  if (params->cpuid_gpa == 0 ||
      !cpuid.load(*reinterpret_cast<const fs::CpuidPage*>(params->cpuid_gpa)) ||
      cpuid.cbit_position() < 32) {
    terminate_now(fs::ghcb_msr::kReasonSnpFeatures);
  }
  g_hardware.set_cbit_mask(std::uint64_t{1} << cpuid.cbit_position());
  g_hardware.set_address_space(&g_address_space);
  g_hardware.set_spare_table(g_boot_split_table);

  g_firmware = new (g_firmware_storage) snp::SnpFirmware(g_hardware, g_log);
  const std::uint64_t ghcb = reinterpret_cast<std::uint64_t>(g_boot_ghcb);
  g_shared_pages[0] = ghcb;
  const snp::SnpStatus status = g_firmware->early(boot_params_gpa, ghcb, snp::NegotiateOptions{});
  if (!status) {
    // A hypervisor without GHCB version 2 gets the GHCB specification's reason for it.
    terminate_now(status.error().what == snp::kNoGhcbVersion2 ? fs::ghcb_msr::kReasonProtocolVersion
                                                              : fs::ghcb_msr::kReasonGeneral);
  }
  set_current_ghcb(&g_firmware->ghcb());
}

console::PortIo& console_io() {
  return g_port_io;
}

void log_early_state() {
  const snp::HypervisorInfo& hv = g_firmware->hypervisor();
  log::info(
      "init: snp: VMPL0, GHCB protocol %u..%u, hypervisor features 0x%lx%s, C-bit %u, GHCB at "
      "0x%lx",
      hv.sev.min_version, hv.sev.max_version, static_cast<unsigned long>(hv.features),
      hv.multi_vmpl ? "" : " (no multi-VMPL advertised)", g_firmware->cpuid().cbit_position(),
      static_cast<unsigned long>(g_firmware->ghcb().gpa()));
  if (hv.sev.cbit != g_firmware->cpuid().cbit_position()) {
    log::warn("snp: the hypervisor claims C-bit %u; using the CPUID page's", hv.sev.cbit);
  }
}

void install_vc_handler() {
  x86::set_exception_handler(kVcVector, vc_exception);
  x86::set_exception_handler(kHvVector, hv_exception);
}

void accept_firmware_memory() {
  const snp::SnpStatus status = g_firmware->accept_firmware_memory();
  if (!status) {
    panic("snp: validating the firmware region: %s (0x%lx, 0x%lx)", status.error().what,
          static_cast<unsigned long>(status.error().value1),
          static_cast<unsigned long>(status.error().value2));
  }
  const boot::BootParams& p = g_firmware->params();
  log::info("init: snp: firmware region validated outside the launched image 0x%lx+0x%lx",
            static_cast<unsigned long>(p.image.gpa), static_cast<unsigned long>(p.image.size));
}

std::uint64_t encryption_mask() {
  return g_active ? g_hardware.cbit_mask() : 0;
}

std::span<const std::uint64_t> shared_pages() {
  if (!g_active) return {};
  return {g_shared_pages, 1};
}

std::uint64_t guest_window() {
  return g_active ? snp::kGuestWindowBase : 0;
}

void use_guest_window() {
  g_address_space.guest_window = snp::kGuestWindowBase;
}

std::uint64_t known_efer() {
  constexpr std::uint64_t kSvmeLmeLma = (1u << 12) | (1u << 8) | (1u << 10);
  return g_active ? kSvmeLmeLma : 0;
}

bool read_boot_info(std::uint64_t boot_params_gpa, native::BootInfo& out,
                    native::BootError& error) {
  static constinit native::IdentityMappedMemory memory;
  return native::read_snp_boot_info(boot_params_gpa, memory, out, error);
}

void serve(const native::BootInfo& info, mm::PageAllocator& pages) {
  snp::GpaRange ram[native::BootInfo::kMaxRam];
  for (std::size_t i = 0; i < info.ram_count; ++i) ram[i] = {info.ram[i].start, info.ram[i].end};
  static mm::HeapAllocator allocator(mm::firmware_heap());
  static PoolPages page_source(pages);
  start_ap_support(pages);
  const snp::SnpStatus prepared =
      g_firmware->prepare({ram, info.ram_count}, allocator, page_source, &ap_vcpu_host());
  if (!prepared) {
    panic("snp: preparing the guest: %s (0x%lx, 0x%lx)", prepared.error().what,
          static_cast<unsigned long>(prepared.error().value1),
          static_cast<unsigned long>(prepared.error().value2));
  }
  log::info("init: snp: guest prepared at VMPL%u (boot VMSA 0x%lx)",
            g_firmware->params().guest_vmpl,
            static_cast<unsigned long>(g_firmware->boot_vmsa_gpa()));

  alignas(vtpm::TpmEngine) static unsigned char engine_storage[sizeof(vtpm::TpmEngine)];
  auto* engine = new (engine_storage) vtpm::TpmEngine(allocator);
  // Persistence (docs/persistence.md, "SNP"): on when the host provides the state link (a UART at
  // COM3), as `cvtpm-launch run --state` does; the image's measured binding picks the key.
  // An image whose console is COM3 (cvtpm-igvmgen --serial-port com3) has no state link.
  static console::Uart16550 state_link(g_port_io, kStateLinkPort);
  const state::PersistentState* persistent = nullptr;
  if (info.console_port == kStateLinkPort) {
    log::warn("snp: the console is on COM3, the state link's port: the vTPM is ephemeral");
  } else if (state_link.init()) {
    const auto binding = static_cast<state::Binding>(g_firmware->params().state_binding);
    log::info("init: snp: state link on COM3: persistent vTPM, %s binding",
              binding == state::Binding::kIdentity ? "identity" : "measurement");
    std::uint8_t root[state::kRootKeySize];
    const snp::SnpStatus key = g_firmware->state_root_key(root);
    if (!key) {
      crypto::wipe(root, sizeof root);
      log::error("state: the PSP's derived key (MSG_KEY_REQ) failed: %s (0x%lx)", key.error().what,
                 static_cast<unsigned long>(key.error().value1));
      refuse_persistent_state("root key", "no derived key from the PSP (the line above says why)");
    }
    persistent =
        &start_persistent_tpm(*engine, allocator, state_link, root, {binding, info.ek_algorithm});
  } else {
    const auto made = engine->manufacture({info.ek_algorithm});
    if (!made) {
      panic("snp: manufacturing the TPM: %s (0x%x)", vtpm::describe(made.error().failure),
            made.error().code);
    }
  }
  log::info(
      "init: snp: TPM %s (%s EK); serving the guest",
      persistent != nullptr ? "started from the persistent state" : "manufactured (ephemeral)",
      vtpm::ek_algorithm_name(info.ek_algorithm));
  // The state's generations and digests go into the attestation evidence (docs/persistence.md,
  // "Rollback").
  snp::RequestLoop& loop =
      g_firmware->serve(engine, persistent != nullptr ? &persistent->evidence() : nullptr);
  for (;;) {
    const snp::RequestLoop::Step step = loop.run_once();
    if (step == snp::RequestLoop::Step::kRunFailed || step == snp::RequestLoop::Step::kNoGuest) {
      panic("snp: the boot vCPU's guest cannot run: %s (0x%lx, 0x%lx)", loop.last_error().what,
            static_cast<unsigned long>(loop.last_error().value1),
            static_cast<unsigned long>(loop.last_error().value2));
    }
  }
}

void terminate_hook(bool) {
  // There is no "success" exit for an SVSM: any stop ends the guest.
  terminate_now(fs::ghcb_msr::kReasonGeneral);
}

}  // namespace cvtpm::fw::snp_platform
