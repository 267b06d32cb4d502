// A minimal SnpHardware for the SNP fuzzers that do not need the model: a few pages of "guest
// memory" the fuzzer owns, and a hypervisor that answers every VMGEXIT with bytes from the input
// (the most hostile hypervisor there is).
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <vector>

#include "cvtpm/formats/snp/ghcb.h"
#include "cvtpm/snp/hardware.h"

namespace cvtpm::snp::fuzzing {

class FuzzHardware final : public SnpHardware {
 public:
  // Pages at these GPAs exist; everything else faults (nullptr).
  explicit FuzzHardware(std::span<const std::uint8_t> answers) : answers_(answers) {}

  std::vector<std::uint8_t>& page(std::uint64_t gpa) {
    auto& p = pages_[gpa & ~std::uint64_t{0xFFF}];
    if (p.empty()) p.assign(4096, 0);
    return p;
  }
  std::uint8_t* map_at(std::uint64_t gpa, std::size_t size, Encryption) override {
    if (size == 0 || (gpa & 0xFFF) + size > 4096 ||
        pages_.count(gpa & ~std::uint64_t{0xFFF}) == 0) {
      return nullptr;
    }
    return page(gpa).data() + (gpa & 0xFFF);
  }
  void unmap(std::uint8_t*, std::size_t) override {}
  bool set_page_encryption_at(std::uint64_t, Encryption) override { return next() & 1; }
  void invalidate_all_processors() override {}
  bool read_guarded_at(std::uint64_t gpa, void* out, std::size_t size) override {
    std::uint8_t* p = map_at(gpa, size, Encryption::kPrivate);
    if (p == nullptr) return false;
    std::memcpy(out, p, size);
    return true;
  }
  bool write_guarded_at(std::uint64_t gpa, const void* in, std::size_t size) override {
    std::uint8_t* p = map_at(gpa, size, Encryption::kPrivate);
    if (p == nullptr) return false;
    std::memcpy(p, in, size);
    return true;
  }
  bool exchange_guarded_at(std::uint64_t gpa, std::uint8_t value, std::uint8_t& old) override {
    std::uint8_t* p = map_at(gpa, 1, Encryption::kPrivate);
    if (p == nullptr) return false;
    old = *p;
    *p = value;
    return true;
  }
  PvalidateOutcome pvalidate_at(std::uint64_t, PageSize, bool) override {
    return {static_cast<std::uint32_t>(next() % 8), (next() & 1) != 0};
  }
  std::uint32_t rmpadjust_at(std::uint64_t, PageSize, std::uint64_t) override {
    return static_cast<std::uint32_t>(next() % 8);
  }
  std::uint64_t read_ghcb_msr() override { return msr_; }
  void write_ghcb_msr(std::uint64_t value) override { msr_ = value; }
  // The hypervisor: writes input bytes over the GHCB (if the MSR names one of our pages) and
  // over the page its exit info names, and answers MSR-protocol requests with input bytes.
  void vmgexit() override {
    ++exits_;
    const std::uint64_t gpa = msr_ & ~std::uint64_t{0xFFF};
    if ((msr_ & 0xFFF) != 0 || pages_.count(gpa) == 0) {
      msr_ = next64();
      return;
    }
    std::vector<std::uint8_t>& ghcb = page(gpa);
    std::uint64_t info2 = 0;
    std::memcpy(&info2, ghcb.data() + offsetof(formats::snp::Ghcb, sw_exit_info_2), 8);
    // Scribble over a few save-area fields, the valid bitmap and the shared buffer.
    for (std::size_t offset :
         {offsetof(formats::snp::Ghcb, rax), offsetof(formats::snp::Ghcb, rcx),
          offsetof(formats::snp::Ghcb, rdx), offsetof(formats::snp::Ghcb, sw_exit_info_1),
          offsetof(formats::snp::Ghcb, sw_exit_info_2), offsetof(formats::snp::Ghcb, valid_bitmap),
          offsetof(formats::snp::Ghcb, valid_bitmap) + 8,
          offsetof(formats::snp::Ghcb, shared_buffer)}) {
      const std::uint64_t v = next64();
      std::memcpy(ghcb.data() + offset, &v, 8);
    }
    // A guest request's response page gets the rest of the input.
    const std::uint64_t response = info2 & ~std::uint64_t{0xFFF};
    if (pages_.count(response) != 0 && response != gpa) {
      std::vector<std::uint8_t>& r = page(response);
      for (std::size_t i = 0; i < r.size(); ++i) r[i] = static_cast<std::uint8_t>(next());
    }
  }
  std::uint64_t read_sev_status() override { return 0x7; }
  std::uint64_t read_cr4() override { return next64(); }

  unsigned exits() const { return exits_; }

 private:
  std::uint64_t next() {
    if (answers_.empty()) return 0;
    const std::uint8_t b = answers_[cursor_ % answers_.size()];
    ++cursor_;
    return b;
  }
  std::uint64_t next64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | next();
    return v;
  }

  std::span<const std::uint8_t> answers_;
  std::size_t cursor_ = 0;
  std::uint64_t msr_ = 0;
  unsigned exits_ = 0;
  std::map<std::uint64_t, std::vector<std::uint8_t>> pages_;
};

}  // namespace cvtpm::snp::fuzzing
