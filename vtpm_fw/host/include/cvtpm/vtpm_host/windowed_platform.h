// The host test platform with a fixed window (Platform::fixed_guest_window) over [begin, end) of
// its guest RAM, for the tests and the fuzzer of the core's window path. Everything else is the
// host platform's (which logs and checks every mapped access); guest_owns() calls are counted.
// It keeps the window's contract as the firmware's native platform does: no page of the window
// can be rescinded or become a VMSA or calling area of a new vCPU.
#pragma once

#include <cstdint>

#include "cvtpm/vtpm/platform.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "cvtpm/vtpm_host/host_platform.h"

namespace cvtpm::vtpm::host {

class WindowedPlatform final : public Platform {
 public:
  WindowedPlatform(HostPlatform& host, std::uint64_t begin, std::uint64_t end)
      : host_(host), begin_(begin), end_(end) {}

  bool guest_owns(std::uint64_t gpa, std::uint64_t size) override {
    ++owns_calls;
    return host_.guest_owns(gpa, size);
  }
  bool read_guest(std::uint64_t gpa, std::span<std::uint8_t> out) override {
    return host_.read_guest(gpa, out);
  }
  bool write_guest(std::uint64_t gpa, std::span<const std::uint8_t> first,
                   std::span<const std::uint8_t> second = {}) override {
    return host_.write_guest(gpa, first, second);
  }
  bool exchange_guest_byte(std::uint64_t gpa, std::uint8_t value, std::uint8_t& old) override {
    return host_.exchange_guest_byte(gpa, value, old);
  }
  GuestWindow fixed_guest_window() const override {
    const auto at =
        reinterpret_cast<std::uintptr_t>(host_.guest_bytes(begin_, end_ - begin_).data());
    return {begin_, end_, at - static_cast<std::uintptr_t>(begin_)};
  }
  PvalidateStatus pvalidate(std::uint64_t gpa, PageSize size, bool validate) override {
    if (!validate && overlaps_window(gpa, page_bytes(size))) return PvalidateStatus::kFailInput;
    return host_.pvalidate(gpa, size, validate);
  }
  SvsmResult create_vcpu(std::uint64_t vmsa, std::uint64_t caa, std::uint32_t apic_id) override {
    if (overlaps_window(vmsa, kPageSize) || overlaps_window(caa, kPageSize)) {
      return SvsmResult::kInvalidParameter;
    }
    return host_.create_vcpu(vmsa, caa, apic_id);
  }
  SvsmResult delete_vcpu(std::uint64_t vmsa) override { return host_.delete_vcpu(vmsa); }
  SvsmResult remap_ca(std::uint32_t vcpu, std::uint64_t caa) override {
    return host_.remap_ca(vcpu, caa);
  }
  std::size_t report_size() override { return host_.report_size(); }
  std::size_t certificates_size() override { return host_.certificates_size(); }
  SvsmResult attestation_report(const ReportData& data, std::span<std::uint8_t> report,
                                std::span<std::uint8_t> certificates) override {
    return host_.attestation_report(data, report, certificates);
  }
  bool sha512(std::span<const std::uint8_t> data, Sha512Digest& digest) override {
    return host_.sha512(data, digest);
  }
  Allocator& allocator() override { return host_.allocator(); }

  int owns_calls = 0;

 private:
  static std::uint64_t page_bytes(PageSize size) {
    return size == PageSize::k2M ? std::uint64_t{2} << 20 : kPageSize;
  }
  bool overlaps_window(std::uint64_t gpa, std::uint64_t size) const {
    return gpa < end_ && (gpa >= UINT64_MAX - size || gpa + size > begin_);
  }

  HostPlatform& host_;
  std::uint64_t begin_;
  std::uint64_t end_;
};

}  // namespace cvtpm::vtpm::host
