#include "cvtpm/measure/launch_digest.h"

#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace cvtpm::measure {

using formats::snp::kPageSize;
using formats::snp::PageInfo;

const char* page_type_name(PageType type) {
  switch (type) {
    case PageType::kNormal:
      return "Normal";
    case PageType::kVmsa:
      return "VMSA";
    case PageType::kZero:
      return "Zero";
    case PageType::kUnmeasured:
      return "Unmeasured";
    case PageType::kSecrets:
      return "Secrets";
    case PageType::kCpuid:
      return "Cpuid";
  }
  return "Unknown";
}

void MeasuredRegions::add_page(std::uint64_t gpa, PageType type) {
  if (!runs_.empty()) {
    MeasuredRun& last = runs_.back();
    if (last.type == type && last.type != PageType::kVmsa && last.gpa + last.length == gpa) {
      last.length += kPageSize;
      return;
    }
  }
  runs_.push_back(MeasuredRun{gpa, kPageSize, type});
}

std::string MeasuredRegions::to_text() const {
  std::string out;
  for (const MeasuredRun& r : runs_) {
    char line[96];
    std::snprintf(line, sizeof line, "gpa 0x%llx len 0x%llx (%s page)\n",
                  static_cast<unsigned long long>(r.gpa), static_cast<unsigned long long>(r.length),
                  page_type_name(r.type));
    out += line;
  }
  return out;
}

void SnpLaunchDigest::add_page(std::uint64_t gpa, PageType type,
                               std::span<const std::uint8_t> contents) {
  const bool hashed = type == PageType::kNormal || type == PageType::kVmsa;
  if (hashed ? contents.size() != kPageSize : !contents.empty()) {
    throw std::logic_error("SnpLaunchDigest::add_page: contents do not match the page type");
  }
  PageInfo info{};
  std::memcpy(info.digest_cur, digest_.data(), digest_.size());
  if (hashed) {
    Sha384Digest page_hash = hasher_.digest(contents);
    std::memcpy(info.contents, page_hash.data(), page_hash.size());
  }
  info.length = sizeof(PageInfo);
  info.page_type = static_cast<std::uint8_t>(type);
  info.gpa = gpa;
  digest_ = hasher_.digest(std::span(reinterpret_cast<const std::uint8_t*>(&info), sizeof info));
  if (regions_) regions_->add_page(gpa, type);
}

void SnpLaunchDigest::add_normal_pages(std::uint64_t gpa, std::span<const std::uint8_t> data) {
  if (data.size() % kPageSize != 0) {
    throw std::logic_error("SnpLaunchDigest::add_normal_pages: not a whole number of pages");
  }
  for (std::size_t off = 0; off < data.size(); off += kPageSize) {
    add_page(gpa + off, PageType::kNormal, data.subspan(off, kPageSize));
  }
}

void SnpLaunchDigest::add_empty_pages(std::uint64_t gpa, std::uint64_t size, PageType type) {
  for (std::uint64_t off = 0; off < size; off += kPageSize) add_page(gpa + off, type);
}

void SnpLaunchDigest::add_vmsa_page(std::span<const std::uint8_t> vmsa, std::uint64_t gpa) {
  add_page(gpa, PageType::kVmsa, vmsa);
}

}  // namespace cvtpm::measure
