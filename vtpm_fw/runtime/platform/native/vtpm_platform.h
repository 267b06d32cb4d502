// The vTPM core's platform (cvtpm::vtpm::Platform) on the native platform: plain memory, no
// SEV-SNP. What each operation means without SNP (docs/firmware.md, "The vTPM on the native
// platform"):
//
//   guest memory     RAM of the memory map outside the firmware region, below the page tables'
//                    identity-map limit, never page 0 (unmapped: NULL dereferences fault).
//                    There is no RMP: nothing else distinguishes the guest's pages.
//   read/write_guest copies through the identity map (the final page tables map all of it)
//   PVALIDATE        no RMP, so every page is always valid: validating changes nothing
//                    (kNoChange, which the core turns into FAIL_NO_CHANGE unless the entry says
//                    to ignore it) and rescinding is impossible (kFailInput)
//   CREATE_VCPU      no VMSA exists without SEV-ES: the page can never hold an acceptable VMSA
//                    (kInvalidParameter); DELETE_VCPU: never a VMSA created by CREATE_VCPU
//                    (kInvalidParameter)
//   REMAP_CA         vCPU 0 (the firmware's own transport plays the guest) gets the new calling
//                    area; other vCPUs are not served natively (kInvalidParameter)
//   attestation      there is no PSP: an UNSIGNED report in the SNP layout with REPORT_DATA set,
//                    VMPL 0, signature algorithm 0 (none), an all-zero signature and measurement,
//                    and kNotAttestedMarker in HOST_DATA, so any SNP verifier rejects it while the
//                    manifest binding (REPORT_DATA = SHA-512(nonce || manifest)) stays testable.
//                    No certificates.
//   sha512           libcrypto; allocator: the one given (the firmware heap)
//
// Host-testable: `window` is the address GPA 0 is mapped at (0 in the firmware).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cvtpm/formats/snp/attestation_report.h"
#include "cvtpm/vtpm/platform.h"
#include "platform/native/boot_info.h"

namespace cvtpm::fw::native {

// HOST_DATA of every native report (NUL-padded to 32 bytes).
inline constexpr const auto& kNotAttestedMarker = formats::snp::kCvtpmNativeNotAttested;

struct NativePlatformConfig {
  const BootInfo* boot = nullptr;    // RAM ranges (must outlive the platform)
  std::uint64_t firmware_start = 0;  // the firmware region, never guest memory
  std::uint64_t firmware_end = 0;
  std::uint64_t identity_limit = 0;    // the page tables map [0, identity_limit)
  std::uintptr_t window = 0;           // host address of GPA 0 (identity in the firmware)
  std::uint64_t bsp_calling_area = 0;  // vCPU 0's calling area
  // The native guest's own pages (GuestArea), offered to the core as its fixed window.
  std::uint64_t guest_area_start = 0;
  std::uint64_t guest_area_end = 0;
};

class NativeVtpmPlatform final : public vtpm::Platform {
 public:
  NativeVtpmPlatform(const NativePlatformConfig& config, vtpm::Allocator& allocator)
      : config_(config), allocator_(allocator), calling_area_(config.bsp_calling_area) {}

  bool guest_owns(std::uint64_t gpa, std::uint64_t size) override;
  bool read_guest(std::uint64_t gpa, std::span<std::uint8_t> out) override;
  bool write_guest(std::uint64_t gpa, std::span<const std::uint8_t> first,
                   std::span<const std::uint8_t> second = {}) override;
  bool exchange_guest_byte(std::uint64_t gpa, std::uint8_t value, std::uint8_t& old) override;
  vtpm::PvalidateStatus pvalidate(std::uint64_t gpa, vtpm::PageSize size, bool validate) override;
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
  // The guest area, if it is guest memory: without an RMP nothing can take it away (PVALIDATE
  // cannot rescind, CREATE_VCPU never accepts a page, the memory map is fixed at boot).
  vtpm::GuestWindow fixed_guest_window() const override;

  // The guest's own view of its memory (what the native "guest", the transport, writes through).
  // Only for ranges guest_owns() accepts.
  std::uint8_t* guest_pointer(std::uint64_t gpa) const {
    return reinterpret_cast<std::uint8_t*>(config_.window + static_cast<std::uintptr_t>(gpa));
  }
  // vCPU 0's current calling area.
  std::uint64_t calling_area() const { return calling_area_; }

 private:
  bool owned(std::uint64_t gpa, std::uint64_t size) const;
  NativePlatformConfig config_;
  vtpm::Allocator& allocator_;
  std::uint64_t calling_area_;
};

}  // namespace cvtpm::fw::native
