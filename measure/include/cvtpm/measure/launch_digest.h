// The SEV-SNP launch digest: a SHA-384 chain over one PAGE_INFO per page added to the guest
// (SNP Firmware ABI, SNP_LAUNCH_UPDATE). Everything that predicts a launch measurement feeds
// pages through this class.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cvtpm/formats/snp/page_info.h"
#include "cvtpm/support/digest.h"

namespace cvtpm::measure {

using formats::snp::PageType;

const char* page_type_name(PageType type);

// Consecutive pages of one type, as a user wants to see them ("what got measured where").
struct MeasuredRun {
  std::uint64_t gpa;
  std::uint64_t length;
  PageType type;
};

class MeasuredRegions {
 public:
  void add_page(std::uint64_t gpa, PageType type);
  const std::vector<MeasuredRun>& runs() const { return runs_; }
  std::string to_text() const;  // one "gpa 0x... len 0x... (<type> page)" line per run

 private:
  std::vector<MeasuredRun> runs_;
};

class SnpLaunchDigest {
 public:
  // `seed` lets a verifier start from a precomputed prefix (sev-snp-measure --snp-ovmf-hash).
  explicit SnpLaunchDigest(const Sha384Digest& seed = {}) : digest_(seed) {}

  // `contents` is the 4 KiB page for NORMAL and VMSA pages and must be empty for the others.
  void add_page(std::uint64_t gpa, PageType type, std::span<const std::uint8_t> contents = {});

  // `data` must be a whole number of pages.
  void add_normal_pages(std::uint64_t gpa, std::span<const std::uint8_t> data);
  void add_empty_pages(std::uint64_t gpa, std::uint64_t size, PageType type);  // ZERO, UNMEASURED
  void add_vmsa_page(std::span<const std::uint8_t> vmsa,
                     std::uint64_t gpa = formats::snp::kVmsaGpa);

  const Sha384Digest& digest() const { return digest_; }

  // Records every page added from now on (for -v); nullptr stops recording.
  void record_into(MeasuredRegions* regions) { regions_ = regions; }

 private:
  Sha384 hasher_;
  Sha384Digest digest_;
  MeasuredRegions* regions_ = nullptr;
};

}  // namespace cvtpm::measure
