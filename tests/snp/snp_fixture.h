// The firmware's SNP boot on the model, as the tests use it: a real cvtpm-igvmgen image (the test
// firmware ELF or cvtpm-fw.elf, and a synthetic OVMF with SVSM support), launched into the model
// machine (PSP measurement = cvtpm-measure's digest of the image), then SnpFirmware's steps in
// the firmware's order, and the checks of the security invariants after boot and after calls.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cvtpm/formats/boot/boot_params.h"
#include "cvtpm/igvmgen/image_builder.h"
#include "cvtpm/snp/exception_gate.h"
#include "cvtpm/snp/firmware.h"
#include "cvtpm/snp/log.h"
#include "cvtpm/vtpm/tpm_engine.h"
#include "cvtpm/vtpm_host/host_allocator.h"
#include "model/guest_os.h"
#include "model/model_hardware.h"
#include "model/snp_machine.h"

namespace cvtpm::snp::testing {

using model::GuestCpu;
using model::GuestSvsm;
using model::Machine;
using model::ModelHardware;

// The result code of an SVSM call (RAX on return).
inline vtpm::SvsmResult result_of(const vtpm::SvsmRegisters& r) {
  return static_cast<vtpm::SvsmResult>(r.rax);
}

// Log lines kept for the test to look at (and printed when a test fails).
class CaptureLog final : public Log {
 public:
  void vwrite(LogLevel level, const char* format, std::va_list args) override;
  std::vector<std::string> lines;
  bool contains(const std::string& text) const;
};

// Firmware pages after the launched image, handed out in order (the page allocator's role).
class BumpPages final : public PageSource {
 public:
  BumpPages(std::uint64_t first, std::uint64_t end) : next_(first), end_(end) {}
  std::uint64_t allocate_page() override;
  std::uint64_t next() const { return next_; }

 private:
  std::uint64_t next_;
  std::uint64_t end_;
};

struct ImageOptions {
  std::uint8_t guest_vmpl = 2;
  formats::boot::EkAlgorithm ek = formats::boot::EkAlgorithm::kEccP256;
  std::uint64_t guest_sev_features = 1;
  std::uint64_t sev_features = igvmgen::kVmpl0SevFeatures;  // VMPL0's VMSA
  bool real_firmware = false;  // cvtpm-fw.elf instead of the IGVM test firmware
  std::size_t ovmf_pages = 4;
  // An OVMF with the IGVM memory map of edk2 >= stable202511 (else built with
  // --allow-non-svsm-ovmf, as only measurement experiments may).
  bool ovmf_igvm_metadata = true;
  // The persistent vTPM's key binding in the BootParams (cvtpm-igvmgen --state-binding).
  formats::boot::StateBinding state_binding = formats::boot::StateBinding::kMeasurement;
  std::uint32_t state_min_svn = 0;
  // An SNP ID block signed for the image (cvtpm-measure igvm sign), with the ID key `id_key`
  // (0, 1, ...: test keys made once per process).
  struct IdBlock {
    std::array<std::uint8_t, 16> family_id{};
    std::array<std::uint8_t, 16> image_id{};
    std::uint32_t guest_svn = 0;
    unsigned id_key = 0;
  };
  std::optional<IdBlock> id_block;
};

struct BuiltTestImage {
  igvmgen::BuiltImage image;
  std::vector<std::uint8_t> measurement;  // 48 bytes: cvtpm-measure igvm's digest
  std::size_t ovmf_size = 0;
};
// Builds the image; throws std::runtime_error when an input is missing.
BuiltTestImage build_test_image(const ImageOptions& options);
// Whether cvtpm-fw.elf was built in this configuration.
bool real_firmware_available();

// Guest RAM for the model: 1 GiB of low memory holding the firmware region, plus OVMF's flash.
model::MachineConfig default_machine_config(std::size_t ovmf_size);

// Everything of one booted model guest.
class SnpBoot {
 public:
  explicit SnpBoot(const ImageOptions& options = {},
                   std::optional<model::MachineConfig> config = std::nullopt);
  ~SnpBoot();

  // The boot steps, separately (each asserts success through gtest when run by boot()).
  SnpStatus early(const NegotiateOptions& options = {});
  SnpStatus accept();
  // The firmware's final page tables (main.cpp's init_memory): built with the firmware's
  // page-table code into pages after the launched image, then VMPL0's CR3 switched to them.
  // prepare() does it first if it has not happened.
  SnpStatus activate_paging();
  SnpStatus prepare();
  // All steps, the TPM (re)powered and the boot vCPU's loop built: boot() through gtest (the
  // shared test TPM), boot_with() for code without gtest (the fuzzers) with the caller's TPM.
  void boot();
  SnpStatus boot_with(vtpm::TpmEngine* engine);

  // Runs the boot vCPU's loop until its guest program ends; returns the calls served (gtest
  // failures for a stopped loop or a failed guest program).
  std::uint64_t run_guest(unsigned max_rounds = 100000);
  // The same without gtest: "" or what went wrong.
  std::string run_guest_plain(unsigned max_rounds = 100000);
  // Sets the guest program of the boot vCPU (at the guest VMPL).
  void set_guest(model::GuestProgram program);

  Machine& machine() { return *machine_; }
  ModelHardware& hardware() { return *hardware_; }
  SnpFirmware& firmware() { return *firmware_; }
  CaptureLog& log() { return log_; }
  vtpm::host::HostAllocator& allocator() { return allocator_; }
  const formats::boot::BootParams& params() const { return firmware_->params(); }
  const Machine::Launch& launch() const { return launch_; }
  const BuiltTestImage& image() const { return image_; }
  std::uint64_t ghcb_gpa() const { return ghcb_gpa_; }
  // VMPL0's page tables once activate_paging() ran (0 before).
  std::uint64_t page_table_root() const { return page_table_root_; }
  // The firmware's linear layout (the guest window once the final tables are active), shared by
  // every vCPU's hardware object.
  const AddressSpace& address_space() const { return address_space_; }
  std::uint8_t guest_vmpl() const { return params().guest_vmpl; }
  vtpm::TpmEngine* engine() { return engine_; }
  BumpPages& pages() { return *pages_; }
  std::vector<GpaRange> ram_ranges() const { return ram_; }

  // The boot vCPU's exception entry, as the firmware's IDT runs it (platform/snp/snp_main.cpp):
  // an event the model injects goes to the vCPU's ExceptionGate; the #VC answers are kept.
  ExceptionGate& exceptions() { return exceptions_; }
  const std::vector<VcResult>& vc_results() const { return vc_results_; }

  // A free 4 KiB guest RAM page the tests may use (never one OVMF's layout uses).
  static constexpr std::uint64_t kGuestScratch = 0x0100'0000;  // 16 MiB

 private:
  BuiltTestImage image_;
  std::unique_ptr<Machine> machine_;
  std::unique_ptr<ModelHardware> hardware_;
  CaptureLog log_;
  vtpm::host::HostAllocator allocator_;
  std::unique_ptr<SnpFirmware> firmware_;
  std::unique_ptr<BumpPages> pages_;
  Machine::Launch launch_;
  std::uint64_t ghcb_gpa_ = 0;
  std::uint64_t page_table_root_ = 0;
  AddressSpace address_space_;
  std::vector<GpaRange> ram_;
  vtpm::TpmEngine* engine_ = nullptr;
  ExceptionGate exceptions_;
  std::vector<VcResult> vc_results_;
  void take_exception(const Machine::Injection& event);
};

// libtpms is one TPM per process: powers the shared test TPM (SnpBoot::boot()'s) off, so a test
// can run its own TpmEngine; the shared one powers on again when next asked for.
void release_shared_tpm();

// The invariants every state of a booted guest must satisfy (docs/snp-platform.md):
//   - no VMPL above 0 has any permission on a page of the firmware region;
//   - every VMSA page (the boot VMSA, the ones CREATE_VCPU took) has the VMSA flag and no
//     permission for any VMPL above 0;
//   - no VMPL more privileged than the guest's (1 .. guest VMPL - 1) has a permission anywhere;
//   - the guest's secrets page carries no VMPCK of a VMPL below the guest's, and the guest VMPL
//     cannot read the firmware's secrets page;
//   - the SVSM's validated-page bitmap agrees with the RMP for guest RAM it marked;
//   - the model recorded no fault.
// invariant_violations() lists every violation (empty when all hold); expect_invariants()
// reports them through gtest.
std::vector<std::string> invariant_violations(SnpBoot& boot);
void expect_invariants(SnpBoot& boot, const char* when);

// The VMPL0 side of another vCPU, for the tests of APs: its hardware, GHCB and loop.
struct ApContext {
  std::unique_ptr<ModelHardware> hardware;
  GhcbClient ghcb;
  std::unique_ptr<RequestLoop> loop;
};
// VcpuHost for the model: creates an ApContext (a GHCB from the firmware's pages) per APIC ID.
class ModelVcpuHost final : public VcpuHost {
 public:
  explicit ModelVcpuHost(SnpBoot& boot) : boot_(boot) {}
  SnpStatus start_vmpl0(std::uint32_t apic_id) override;
  ApContext* context(std::uint32_t apic_id);
  std::size_t started() const { return contexts_.size(); }

 private:
  SnpBoot& boot_;
  std::vector<std::pair<std::uint32_t, std::unique_ptr<ApContext>>> contexts_;
};

}  // namespace cvtpm::snp::testing
