// The vTPM service's platform interface (vtpm_fw/core/include/cvtpm/vtpm/platform.h) on SEV-SNP
// at VMPL0:
//   - guest memory: GuestRam (the loader's RAM and OVMF's flash, never the firmware region)
//     minus the VMSA pages the SVSM took from the guest; copied only where the SVSM knows the
//     page is validated, with copies that survive the fault a page converted behind the SVSM's
//     back raises (SnpHardware::read_guarded), after which the SVSM forgets that page;
//   - PVALIDATE for the guest: a page is zeroed before the guest VMPL gets access to it, and loses
//     the guest's access before it is rescinded (COCONUT-SVSM's order);
//   - CREATE_VCPU/DELETE_VCPU: the VMSA page leaves the guest (RMPADJUST) before its contents
//     are checked, then gets the VMSA flag; deleting clears EFER.SVME and gives the page back;
//   - attestation: MSG_REPORT_REQ with VMPCK0 through the calling vCPU's GHCB;
//   - SHA-512 from libcrypto.
// One service call runs at a time (a spin lock the request loops take); the loop of the calling
// vCPU names its hardware and GHCB with set_current() first. Freestanding.
#pragma once

#include <atomic>
#include <cstdint>

#include "cvtpm/snp/ghcb_client.h"
#include "cvtpm/snp/guest_ram.h"
#include "cvtpm/snp/guest_request.h"
#include "cvtpm/snp/hardware.h"
#include "cvtpm/snp/log.h"
#include "cvtpm/snp/vcpu_table.h"
#include "cvtpm/vtpm/platform.h"

namespace cvtpm::snp {

// The firmware's side of running vCPUs: a VMPL0 context for every vCPU the guest runs on, so
// its calls (a VMGEXIT to VMPL0 on that vCPU) find an SVSM there.
class VcpuHost {
 public:
  // Called when the guest created a VMSA for `apic_id`: starts a VMPL0 context for it unless one
  // exists (a context outlives the guest's VMSAs: CPU hotplug reuses it).
  virtual SnpStatus start_vmpl0(std::uint32_t apic_id) = 0;

 protected:
  ~VcpuHost() = default;
};

struct SnpPlatformConfig {
  std::uint8_t guest_vmpl = 2;
  std::uint64_t guest_sev_features = 1;
};

class SnpPlatform final : public vtpm::Platform {
 public:
  SnpPlatform(SnpHardware& hardware, GuestRam& ram, vtpm::Allocator& allocator,
              const SnpPlatformConfig& config, Log& log);

  // --- vtpm::Platform ---
  bool guest_owns(std::uint64_t gpa, std::uint64_t size) override;
  bool read_guest(std::uint64_t gpa, std::span<std::uint8_t> out) override;
  bool write_guest(std::uint64_t gpa, std::span<const std::uint8_t> first,
                   std::span<const std::uint8_t> second = {}) override;
  bool exchange_guest_byte(std::uint64_t gpa, std::uint8_t value, std::uint8_t& old) override;
  vtpm::PvalidateStatus pvalidate(std::uint64_t gpa, PageSize size, bool validate) override;
  vtpm::SvsmResult create_vcpu(std::uint64_t vmsa_gpa, std::uint64_t caa_gpa,
                               std::uint32_t apic_id) override;
  vtpm::SvsmResult delete_vcpu(std::uint64_t vmsa_gpa) override;
  vtpm::SvsmResult remap_ca(std::uint32_t vcpu_index, std::uint64_t caa_gpa) override;
  std::size_t report_size() override;
  std::size_t certificates_size() override;
  vtpm::SvsmResult attestation_report(const vtpm::ReportData& report_data,
                                      std::span<std::uint8_t> report,
                                      std::span<std::uint8_t> certificates) override;
  bool sha512(std::span<const std::uint8_t> data, vtpm::Sha512Digest& digest) override;
  vtpm::Allocator& allocator() override { return allocator_; }

  // --- SNP ---
  // The boot vCPU: its VMSA (a firmware page) and calling area.
  SnpStatus add_boot_vcpu(std::uint32_t apic_id, std::uint64_t vmsa_gpa, std::uint64_t caa_gpa);
  void set_vcpu_host(VcpuHost* host) { vcpu_host_ = host; }
  // The vCPU serving the current call: its hardware object and GHCB.
  void set_current(SnpHardware* hardware, GhcbClient* ghcb) {
    current_hardware_ = hardware;
    current_ghcb_ = ghcb;
  }
  GuestRequestChannel& guest_requests() { return guest_requests_; }
  VcpuTable& vcpus() { return vcpus_; }
  GuestRam& ram() { return ram_; }
  const SnpPlatformConfig& config() const { return config_; }

  // The service lock: one call at a time across vCPUs.
  bool try_lock() { return !busy_.exchange(true, std::memory_order_acquire); }
  void lock() {
    while (!try_lock()) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    }
  }
  void unlock() {
    busy_.store(false, std::memory_order_release);
  }

 private:
  SnpHardware& hw() {
    return current_hardware_ != nullptr ? *current_hardware_ : hardware_;
  }
  bool grant_guest(std::uint64_t gpa, PageSize size);
  bool revoke_guest(std::uint64_t gpa, PageSize size);
  // A guarded guest copy faulted: the page is no longer validated, whatever the bitmap said.
  bool lost_page(std::uint64_t gpa);

  SnpHardware& hardware_;
  GuestRam& ram_;
  vtpm::Allocator& allocator_;
  SnpPlatformConfig config_;
  Log& log_;
  VcpuTable vcpus_;
  GuestRequestChannel guest_requests_;
  VcpuHost* vcpu_host_ = nullptr;
  SnpHardware* current_hardware_ = nullptr;
  GhcbClient* current_ghcb_ = nullptr;
  std::atomic<bool> busy_{false};
};

}  // namespace cvtpm::snp
