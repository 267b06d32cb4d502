// The SNP platform's boot and service, in the order the firmware runs them on the boot vCPU.
// The firmware's main (vtpm_fw/runtime) and the tests on the SNP model (tests/snp) run this same
// code; only SnpHardware and the page source differ.
//
//   early()                   before the console exists: the measured BootParams, the GHCB
//                             protocol version and hypervisor features (MSR protocol), the
//                             CPUID table (the #VC handler answers CPUID from it) and the GHCB
//                             page; console output is possible afterwards;
//   accept_firmware_memory()  the firmware region outside the launched image becomes validated
//                             private memory, before the page allocator hands any of it out;
//   prepare()                 guest RAM, the SNP platform, the VMPCK0 channel to the PSP and
//                             the guest firmware's memory, secrets, CPUID page and boot VMSA;
//   serve()                   the vTPM service's dispatcher and the boot vCPU's request loop.
// Freestanding.
#pragma once

#include <cstdint>
#include <new>
#include <span>

#include "cvtpm/formats/boot/boot_params.h"
#include "cvtpm/formats/snp/secrets_page.h"
#include "cvtpm/snp/boot.h"
#include "cvtpm/snp/cpuid_table.h"
#include "cvtpm/snp/ghcb_client.h"
#include "cvtpm/snp/guest_ram.h"
#include "cvtpm/snp/hardware.h"
#include "cvtpm/snp/log.h"
#include "cvtpm/snp/page_source.h"
#include "cvtpm/snp/request_loop.h"
#include "cvtpm/snp/snp_platform.h"
#include "cvtpm/snp/state_key.h"
#include "cvtpm/snp/status.h"
#include "cvtpm/vtpm/allocator.h"
#include "cvtpm/vtpm/dispatcher.h"
#include "cvtpm/vtpm/tpm_engine.h"

namespace cvtpm::snp {

// Storage for an object constructed later, without the heap.
template <typename T>
class Deferred {
 public:
  Deferred() = default;
  ~Deferred() {
    if (constructed_) get().~T();
  }
  Deferred(const Deferred&) = delete;
  Deferred& operator=(const Deferred&) = delete;
  template <typename... Args>
  T& construct(Args&&... args) {
    if (constructed_) get().~T();
    T* object = new (storage_) T(static_cast<Args&&>(args)...);
    constructed_ = true;
    return *object;
  }
  bool constructed() const { return constructed_; }
  T& get() { return *std::launder(reinterpret_cast<T*>(storage_)); }

 private:
  alignas(T) unsigned char storage_[sizeof(T)];
  bool constructed_ = false;
};

class SnpFirmware {
 public:
  SnpFirmware(SnpHardware& boot_hardware, Log& log) : hardware_(boot_hardware), log_(log) {}
  SnpFirmware(const SnpFirmware&) = delete;
  SnpFirmware& operator=(const SnpFirmware&) = delete;
  ~SnpFirmware();

  // `ghcb_gpa`: a validated page of the launched image set aside for the boot vCPU's GHCB.
  SnpStatus early(std::uint64_t boot_params_gpa, std::uint64_t ghcb_gpa,
                  const NegotiateOptions& options);
  SnpStatus accept_firmware_memory();
  // `ram`: the guest's RAM from the loader's memory map (sorted, non-overlapping); OVMF's flash is
  // added. `allocator` holds the validated-page bitmap; `pages` gives the shared pages of the
  // VMPCK0 channel and the boot VMSA page.
  SnpStatus prepare(std::span<const GpaRange> ram, vtpm::Allocator& allocator, PageSource& pages,
                    VcpuHost* vcpu_host);
  // The persistent vTPM's root key (cvtpm/snp/state_key.h: MSG_KEY_REQ of the image's binding)
  // into `key`, after prepare(). The caller wipes it after use.
  SnpStatus state_root_key(std::span<std::uint8_t, formats::snp::kDerivedKeySize> key);
  // The dispatcher over `engine` (null: no vTPM) and the boot vCPU's loop. `state`: the
  // persistent state's evidence for the attestation protocol (null: an ephemeral TPM); it must
  // outlive the firmware.
  RequestLoop& serve(vtpm::TpmEngine* engine, const vtpm::StateEvidence* state = nullptr);

  const formats::boot::BootParams& params() const { return params_; }
  const HypervisorInfo& hypervisor() const { return hypervisor_; }
  const CpuidTable& cpuid() const { return cpuid_; }
  // SEV_FEATURES of VMPL0, from SEV_STATUS (which the hypervisor cannot intercept).
  std::uint64_t vmpl0_sev_features() const { return vmpl0_sev_features_; }
  GhcbClient& ghcb() { return ghcb_; }
  SnpPlatform& platform() { return platform_.get(); }
  vtpm::Dispatcher& dispatcher() { return dispatcher_.get(); }
  RequestLoop& loop() { return loop_.get(); }
  GuestRam& ram() { return ram_; }
  std::uint64_t boot_vmsa_gpa() const { return boot_vmsa_gpa_; }
  std::uint64_t request_page_gpa() const { return request_page_gpa_; }
  std::uint64_t response_page_gpa() const { return response_page_gpa_; }

 private:
  SnpHardware& hardware_;
  Log& log_;
  formats::boot::BootParams params_{};
  HypervisorInfo hypervisor_{};
  std::uint64_t vmpl0_sev_features_ = 0;
  CpuidTable cpuid_;
  GhcbClient ghcb_;
  GuestRam ram_;
  vtpm::Allocator* bitmap_allocator_ = nullptr;
  std::uint64_t* bitmap_ = nullptr;
  std::size_t bitmap_bytes_ = 0;
  std::uint64_t boot_vmsa_gpa_ = 0;
  std::uint64_t request_page_gpa_ = 0;
  std::uint64_t response_page_gpa_ = 0;
  Deferred<SnpPlatform> platform_;
  Deferred<vtpm::Dispatcher> dispatcher_;
  Deferred<RequestLoop> loop_;
};

}  // namespace cvtpm::snp
