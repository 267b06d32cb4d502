// The hosted test platform: an SNP guest simulated in ordinary memory, implementing the core's
// platform interface the way the SNP platform will on hardware.
//
//   - Guest RAM is one contiguous GPA range backed by host memory; right after it lies an
//     "SVSM region" the guest does not own (and that is not backed: touching it is a contract
//     violation that aborts the process).
//   - PVALIDATE follows the RMP model: each 4 KiB page has a validated bit; configured 2 MiB
//     regions have 2 MiB RMP entries (a 4K request there, or a 2M request elsewhere, fails with
//     FAIL_SIZEMISMATCH); validating zeroes the page.
//   - vCPUs: vCPU 0 (the BSP, whose VMSA lives in SVSM memory) plus those CREATE_VCPU adds. A
//     VMSA page is no longer guest memory while it is a VMSA.
//   - Attestation reports come from the TestAttestationSigner.
//
// For tests it records guest accesses and can run a hook after each access, which lets a test
// play a racing guest vCPU that rewrites memory while the SVSM serves a call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <span>
#include <vector>

#include "cvtpm/vtpm/platform.h"
#include "cvtpm/vtpm_host/host_allocator.h"
#include "cvtpm/vtpm_host/test_signer.h"

namespace cvtpm::vtpm::host {

struct HostPlatformConfig {
  std::uint64_t guest_base = 0x10'0000;    // guest RAM starts at 1 MiB
  std::uint64_t guest_size = 0x100'0000;   // 16 MiB
  std::uint64_t svsm_size = 0x10'0000;     // the SVSM region after guest RAM (not guest memory)
  std::uint64_t bsp_caa_gpa = 0x10'0000;   // vCPU 0's calling area
  std::uint8_t guest_vmpl = 2;             // VMPL of the guest's VMSAs (COCONUT's choice)
  std::uint64_t guest_sev_features = 1;    // SEV_FEATURES the guest's VMSAs must carry (SNP)
  std::vector<std::uint64_t> large_pages;  // GPAs of 2 MiB RMP entries
  std::vector<std::uint8_t> certificates;  // the blob an extended report returns (none if empty)
  bool sha512_fails = false;               // plays a libcrypto that cannot hash
  ReportFields report;                     // fields of the simulated attestation report
};

struct GuestAccessRecord {
  std::uint64_t gpa;
  std::size_t size;
  GuestAccess access;
};

struct SimulatedVcpu {
  std::uint32_t apic_id;
  std::uint64_t vmsa_gpa;  // 0 for the BSP
  std::uint64_t caa_gpa;
  bool running;
};

class HostPlatform final : public Platform {
 public:
  explicit HostPlatform(HostPlatformConfig config = {});

  // Platform interface.
  bool guest_owns(std::uint64_t gpa, std::uint64_t size) override;
  bool read_guest(std::uint64_t gpa, std::span<std::uint8_t> out) override;
  bool write_guest(std::uint64_t gpa, std::span<const std::uint8_t> first,
                   std::span<const std::uint8_t> second = {}) override;
  bool exchange_guest_byte(std::uint64_t gpa, std::uint8_t value, std::uint8_t& old) override;
  PvalidateStatus pvalidate(std::uint64_t gpa, PageSize size, bool validate) override;
  SvsmResult create_vcpu(std::uint64_t vmsa_gpa, std::uint64_t caa_gpa,
                         std::uint32_t apic_id) override;
  SvsmResult delete_vcpu(std::uint64_t vmsa_gpa) override;
  SvsmResult remap_ca(std::uint32_t vcpu_index, std::uint64_t caa_gpa) override;
  std::size_t report_size() override;
  std::size_t certificates_size() override;
  SvsmResult attestation_report(const ReportData& report_data, std::span<std::uint8_t> report,
                                std::span<std::uint8_t> certificates) override;
  bool sha512(std::span<const std::uint8_t> data, Sha512Digest& digest) override;
  Allocator& allocator() override { return allocator_; }

  // The guest's view of its memory (what its own vCPUs read and write). Throws
  // std::out_of_range outside guest RAM.
  std::span<std::uint8_t> guest_bytes(std::uint64_t gpa, std::size_t size);
  const HostPlatformConfig& config() const { return config_; }
  std::uint64_t guest_end() const { return config_.guest_base + config_.guest_size; }
  std::uint64_t svsm_base() const { return guest_end(); }

  HostAllocator& host_allocator() { return allocator_; }
  const TestAttestationSigner& signer() const { return signer_; }

  // Test instrumentation.
  void record_accesses(bool on) { recording_ = on; }
  const std::vector<GuestAccessRecord>& accesses() const { return accesses_; }
  void clear_accesses() { accesses_.clear(); }
  // Runs after every completed guest access of the SVSM.
  std::function<void(const GuestAccessRecord&)> after_access;
  // GPAs whose PVALIDATE fails with FAIL_INPUT.
  std::set<std::uint64_t> pvalidate_fail_input;
  // Number of pvalidate() calls (to prove a rejected request did nothing).
  std::size_t pvalidate_calls() const { return pvalidate_calls_; }
  bool validated(std::uint64_t gpa) const;
  const std::vector<SimulatedVcpu>& vcpus() const { return vcpus_; }
  void set_running(std::uint64_t vmsa_gpa, bool running);
  std::size_t reports_signed() const { return reports_signed_; }

 private:
  std::size_t page_index(std::uint64_t gpa) const { return (gpa - config_.guest_base) / 4096; }
  bool in_large_page(std::uint64_t gpa) const;
  // The host bytes of a page-bounded guest range the guest owns (a contract violation else).
  std::uint8_t* checked_access(std::uint64_t gpa, std::size_t size);
  void finish_access(const GuestAccessRecord& record);

  HostPlatformConfig config_;
  std::vector<std::uint8_t> memory_;
  std::vector<bool> validated_;
  std::set<std::uint64_t> vmsa_pages_;
  std::vector<SimulatedVcpu> vcpus_;
  HostAllocator allocator_;
  TestAttestationSigner signer_;

  bool recording_ = false;
  std::vector<GuestAccessRecord> accesses_;
  std::size_t pvalidate_calls_ = 0;
  std::size_t reports_signed_ = 0;
};

}  // namespace cvtpm::vtpm::host
