#include "platform/snp/ap_contexts.h"

#include <atomic>
#include <cstddef>
#include <new>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/cpu_features.h"
#include "arch/x86_64/descriptors.h"
#include "arch/x86_64/stacks.h"
#include "arch/x86_64/tls.h"
#include "console/log.h"
#include "cvtpm/formats/snp/ghcb.h"
#include "cvtpm/formats/snp/rmp_instructions.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/snp/firmware.h"
#include "cvtpm/snp/ghcb_msr.h"
#include "cvtpm/snp/page_state.h"
#include "cvtpm/snp/request_loop.h"
#include "cvtpm/snp/vmsa_builder.h"
#include "libc/shim.h"
#include "panic/panic.h"
#include "platform/snp/pool_pages.h"
#include "platform/snp/x86_snp_hardware.h"

extern "C" void fw_snp_ap_entry();

namespace cvtpm::fw::snp_platform {

// Defined in snp_main.cpp.
snp::SnpFirmware& firmware();
X86SnpHardware& boot_hardware();

namespace {

namespace fs = formats::snp;

constexpr std::size_t kMaxAps = 63;
constexpr std::size_t kStackPages = 16;     // 64 KiB
constexpr std::size_t kExceptionPages = 4;  // 16 KiB for each of the seven IST stacks
constexpr std::uint64_t k4K = 4096;

using x86::TablePointer;
using x86::TaskStateSegment;
using x86::ThreadControlBlock;

// One AP's VMPL0 context, in a page of its own.
struct CpuContext {
  ThreadControlBlock tcb;  // FS points here
  std::uint32_t apic_id;
  snp::GhcbClient ghcb;
  snp::ExceptionGate exceptions;
  snp::Deferred<snp::RequestLoop> loop;
  alignas(16) TaskStateSegment tss;
};
static_assert(sizeof(CpuContext) <= k4K);

snp::GhcbClient* g_boot_ghcb = nullptr;
snp::ExceptionGate g_boot_exceptions;
mm::PageAllocator* g_pages = nullptr;
CpuContext* g_contexts[kMaxAps] = {};
std::size_t g_context_count = 0;

ThreadControlBlock* current_tcb() {
  ThreadControlBlock* self;
  asm volatile("mov %%fs:0x10, %0" : "=r"(self));
  return self;
}

CpuContext* find(std::uint32_t apic_id) {
  for (std::size_t i = 0; i < g_context_count; ++i) {
    if (g_contexts[i]->apic_id == apic_id) return g_contexts[i];
  }
  return nullptr;
}

std::uint64_t allocate_pages(std::size_t count) {
  const std::uint64_t pages = g_pages->allocate(count);
  if (pages != 0) libc::memset(reinterpret_cast<void*>(pages), 0, count * k4K);
  return pages;
}

// Builds the AP's VMPL0 VMSA and asks the hypervisor to start it at fw_snp_ap_entry.
snp::SnpStatus launch(CpuContext& ctx, std::uint64_t stack_top) {
  PoolPages pool(*g_pages);
  const std::uint64_t vmsa_gpa = snp::allocate_vmsa_page(pool);
  if (vmsa_gpa == 0) return snp::SnpError{"no page for the AP's VMSA"};
  libc::memset(reinterpret_cast<void*>(vmsa_gpa), 0, k4K);
  TablePointer gdt{};
  TablePointer idt{};
  asm volatile("sgdt %0" : "=m"(gdt));
  asm volatile("sidt %0" : "=m"(idt));
  snp::Vmpl0ContextConfig config{};
  config.rip = reinterpret_cast<std::uint64_t>(&fw_snp_ap_entry);
  config.rsp = stack_top;
  config.cr0 = x86::read_cr0();
  config.cr3 = x86::read_cr3();
  config.cr4 = x86::read_cr4();
  // EFER from what the firmware set, not from an RDMSR the hypervisor could answer (#VC).
  constexpr std::uint64_t kEferLongMode = (1u << 8) | (1u << 10);  // LME | LMA
  config.efer = kEferLongMode | (x86::detect_cpu_features().nx ? x86::kEferNxe : 0);
  config.gdtr_base = gdt.base;
  config.gdtr_limit = gdt.limit;
  config.idtr_base = idt.base;
  config.idtr_limit = idt.limit;
  config.tss_base = reinterpret_cast<std::uint64_t>(&ctx.tss);
  config.fs_base = reinterpret_cast<std::uint64_t>(&ctx.tcb);
  config.sev_features = snp::sev_features_from_status(boot_hardware().read_sev_status());
  config.rdi = reinterpret_cast<std::uint64_t>(&ctx);
  auto* vmsa = reinterpret_cast<fs::Vmsa*>(vmsa_gpa);
  snp::build_vmpl0_context(*vmsa, config);
  // A VMPL0 VMSA gets its flag through an RMPADJUST aimed at a less privileged VMPL (Linux does
  // the same for its own APs at VMPL0); VMPL1 keeps no permission.
  const std::uint32_t adjusted =
      boot_hardware().rmpadjust(vmsa_gpa, snp::PageSize::k4K, fs::rmpadjust_attributes(1, 0, true));
  if (adjusted != fs::rmp_result::kSuccess) {
    return snp::SnpError{"RMPADJUST of the AP's VMSA failed", vmsa_gpa, adjusted};
  }
  snp::GhcbClient* ghcb = current_ghcb();
  if (ghcb == nullptr) return snp::SnpError{"no GHCB on this vCPU"};
  return ghcb->ap_create(fs::ap_creation::kCreate, ctx.apic_id, 0, vmsa_gpa, config.sev_features);
}

class FirmwareVcpuHost final : public snp::VcpuHost {
 public:
  snp::SnpStatus start_vmpl0(std::uint32_t apic_id) override;
};

snp::SnpStatus FirmwareVcpuHost::start_vmpl0(std::uint32_t apic_id) {
  // A context lives as long as the firmware: when the guest takes the CPU offline and back
  // online (a new VMSA for the APIC ID), the same context serves it, on the same stack, with the
  // same VMPL0 VMSA. Nothing is started twice.
  if (find(apic_id) != nullptr) return snp::SnpStatus::success();
  if (g_context_count == kMaxAps) return snp::SnpError{"too many APs", apic_id};
  const std::uint64_t page = allocate_pages(1);
  const std::uint64_t stack = allocate_pages(kStackPages);
  // One stack per IST entry, as on the boot vCPU (arch/x86_64/descriptors.cpp): an exception
  // on one stack must not start over the frame of another exception in progress.
  const std::uint64_t exception_stacks = allocate_pages(kExceptionPages * x86::kIstCount);
  const std::uint64_t ghcb_gpa = g_pages->allocate(1);
  if (page == 0 || stack == 0 || exception_stacks == 0 || ghcb_gpa == 0) {
    return snp::SnpError{"no memory for an AP context", apic_id};
  }
  if (snp::SnpStatus s = snp::make_page_shared(boot_hardware(), current_ghcb(), ghcb_gpa); !s) {
    return s;
  }
  libc::memset(reinterpret_cast<void*>(ghcb_gpa), 0, k4K);
  auto* ctx = new (reinterpret_cast<void*>(page)) CpuContext{};
  ctx->tcb.tcb = &ctx->tcb;
  ctx->tcb.self = &ctx->tcb;
  ctx->tcb.stack_guard = x86::stack_canary();
  ctx->apic_id = apic_id;
  ctx->ghcb = snp::GhcbClient(boot_hardware(), ghcb_gpa);
  const std::uint64_t stack_top = stack + kStackPages * k4K;
  for (int i = 0; i < x86::kIstCount; ++i) {
    ctx->tss.ist[i] = exception_stacks + (i + 1) * kExceptionPages * k4K;
  }
  ctx->tss.rsp[0] = stack_top;
  ctx->tss.io_map_base = sizeof(TaskStateSegment);
  snp::SnpFirmware& fw = firmware();
  ctx->loop.construct(fw.platform(), fw.dispatcher(), boot_hardware(), ctx->ghcb, apic_id);
  g_contexts[g_context_count++] = ctx;
  return launch(*ctx, stack_top);
}

FirmwareVcpuHost g_host;

[[noreturn]] void run_ap(CpuContext& ctx) {
  // GHCB registration is per vCPU: only the AP itself can do it.
  if (snp::SnpStatus s = snp::msr_protocol::register_ghcb(boot_hardware(), ctx.ghcb.gpa()); !s) {
    panic("snp: APIC ID %u: %s", ctx.apic_id, s.error().what);
  }
  bool reported = false;
  for (;;) {
    const snp::RequestLoop::Step step = ctx.loop.get().run_once();
    if (step == snp::RequestLoop::Step::kNoGuest) {
      // The guest deleted this vCPU's VMSA (and created none after it): wait for a CREATE_VCPU
      // for this APIC ID, which the boot vCPU or another AP serves. How a multi-VMPL host
      // schedules a VMPL0 context that spins is unverified (docs/snp-model-limits.md).
      for (int i = 0; i < 1000; ++i) x86::pause();
      continue;
    }
    if (step == snp::RequestLoop::Step::kRunFailed) {
      // The guest may not have registered its VMSA with the hypervisor yet.
      if (!reported) {
        log::warn("snp: APIC ID %u: %s; retrying", ctx.apic_id, ctx.loop.get().last_error().what);
        reported = true;
      }
      for (int i = 0; i < 1000; ++i) x86::pause();
    }
  }
}

}  // namespace

snp::GhcbClient* current_ghcb() {
  ThreadControlBlock* self = current_tcb();
  for (std::size_t i = 0; i < g_context_count; ++i) {
    if (&g_contexts[i]->tcb == self) return &g_contexts[i]->ghcb;
  }
  return g_boot_ghcb;
}

snp::ExceptionGate& current_exception_gate() {
  ThreadControlBlock* self = current_tcb();
  for (std::size_t i = 0; i < g_context_count; ++i) {
    if (&g_contexts[i]->tcb == self) return g_contexts[i]->exceptions;
  }
  return g_boot_exceptions;
}

void set_current_ghcb(snp::GhcbClient* boot_ghcb) {
  g_boot_ghcb = boot_ghcb;
}

void start_ap_support(mm::PageAllocator& pages) {
  g_pages = &pages;
}

snp::VcpuHost& ap_vcpu_host() {
  return g_host;
}

void run_ap_context(void* context) {
  run_ap(*static_cast<CpuContext*>(context));
}

}  // namespace cvtpm::fw::snp_platform

// The AP's C++ entry (arch/x86_64/snp/ap_entry.S).
extern "C" [[noreturn]] void fw_snp_ap_main(void* context) {
  cvtpm::fw::snp_platform::run_ap_context(context);
}
