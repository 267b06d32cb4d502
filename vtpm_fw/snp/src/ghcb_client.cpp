#include "cvtpm/snp/ghcb_client.h"

#include <atomic>
#include <cstddef>
#include <cstring>

#include "cvtpm/formats/snp/ghcb.h"
#include "cvtpm/formats/snp/ghcb_msr_protocol.h"

namespace cvtpm::snp {

namespace fs = formats::snp;

// The mapped GHCB page with single-read accessors: the hypervisor owns the page as much as we do.
class GhcbClient::Page {
 public:
  // A page already in use by an interrupted exchange of this vCPU is not taken: writing it would
  // change the request or the answer under that exchange.
  explicit Page(GhcbClient& client) : client_(client) {
    if (client.busy_) return;
    data_ = client.hardware_->map(client.gpa_, kPageSize, Encryption::kShared);
    if (data_ == nullptr) return;
    client.busy_ = true;
    // The flag is for an exception on this vCPU: ordered with the page accesses for it.
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  ~Page() {
    if (data_ == nullptr) return;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    client_.busy_ = false;
    client_.hardware_->unmap(data_, kPageSize);
  }
  Page(const Page&) = delete;
  Page& operator=(const Page&) = delete;
  explicit operator bool() const { return data_ != nullptr; }

  void clear() { std::memset(data_, 0, kPageSize); }
  void set(std::size_t offset, std::uint64_t value) {
    store(offset, value);
    const std::size_t bit = fs::ghcb_valid_bit(offset);
    const std::size_t word = offsetof(fs::Ghcb, valid_bitmap) + bit / 64 * 8;
    store(word, load(word) | std::uint64_t{1} << (bit % 64));
  }
  // The value at `offset` if the hypervisor marked it valid.
  bool get(std::size_t offset, std::uint64_t& value) const {
    const std::size_t bit = fs::ghcb_valid_bit(offset);
    const std::uint64_t word = load(offsetof(fs::Ghcb, valid_bitmap) + bit / 64 * 8);
    if ((word >> (bit % 64) & 1) == 0) return false;
    value = load(offset);
    return true;
  }
  std::uint64_t load(std::size_t offset) const {
    std::uint64_t value;
    std::memcpy(&value, const_cast<const std::uint8_t*>(bytes() + offset), sizeof value);
    return value;
  }
  void store(std::size_t offset, std::uint64_t value) {
    std::memcpy(const_cast<std::uint8_t*>(bytes() + offset), &value, sizeof value);
  }
  void store16(std::size_t offset, std::uint16_t value) {
    std::memcpy(const_cast<std::uint8_t*>(bytes() + offset), &value, sizeof value);
  }
  void store32(std::size_t offset, std::uint32_t value) {
    std::memcpy(const_cast<std::uint8_t*>(bytes() + offset), &value, sizeof value);
  }
  std::uint64_t gpa_of(std::size_t offset, std::uint64_t page_gpa) const {
    return page_gpa + offset;
  }

 private:
  volatile std::uint8_t* bytes() const { return data_; }
  GhcbClient& client_;
  std::uint8_t* data_ = nullptr;
};

SnpResult<GhcbClient::Exit> GhcbClient::exit(Page& page, std::uint64_t code, std::uint64_t info1,
                                             std::uint64_t info2) {
  page.store16(offsetof(fs::Ghcb, protocol_version), fs::kGhcbProtocolVersion);
  page.store32(offsetof(fs::Ghcb, ghcb_usage), fs::kGhcbUsageStandard);
  page.set(offsetof(fs::Ghcb, sw_exit_code), code);
  page.set(offsetof(fs::Ghcb, sw_exit_info_1), info1);
  page.set(offsetof(fs::Ghcb, sw_exit_info_2), info2);
  hardware_->write_ghcb_msr(gpa_);
  hardware_->vmgexit();
  Exit result{};
  if (!page.get(offsetof(fs::Ghcb, sw_exit_info_1), result.info1)) {
    return SnpError{"GHCB: the hypervisor did not answer the exit", code};
  }
  // exit_info_2 is only meaningful on errors and for some exits; absent means 0.
  if (!page.get(offsetof(fs::Ghcb, sw_exit_info_2), result.info2)) result.info2 = 0;
  if (static_cast<std::uint32_t>(result.info1) != 0) {
    return SnpError{"GHCB: the hypervisor reported an error for the exit", code, result.info2};
  }
  return result;
}

namespace {

bool valid_io_size(unsigned bytes) {
  return bytes == 1 || bytes == 2 || bytes == 4;
}

std::uint64_t io_info(std::uint16_t port, unsigned bytes, bool in) {
  std::uint64_t info = std::uint64_t{port} << fs::ghcb_ioio::kPortShift;
  info |= bytes == 1 ? fs::ghcb_ioio::kSize8
                     : (bytes == 2 ? fs::ghcb_ioio::kSize16 : fs::ghcb_ioio::kSize32);
  if (in) info |= fs::ghcb_ioio::kIn;
  return info;
}

}  // namespace

SnpResult<std::uint32_t> GhcbClient::io_in(std::uint16_t port, unsigned bytes) {
  if (!valid_io_size(bytes)) return SnpError{"GHCB: bad port I/O size", bytes};
  Page page(*this);
  if (!page) return SnpError{"GHCB: page not mapped, or in use by an interrupted exchange", gpa_};
  page.clear();
  page.set(offsetof(fs::Ghcb, rax), 0);
  const auto exit_result = exit(page, fs::ghcb_exit::kIoio, io_info(port, bytes, true), 0);
  if (!exit_result) return exit_result.error();
  std::uint64_t rax = 0;
  if (!page.get(offsetof(fs::Ghcb, rax), rax)) {
    return SnpError{"GHCB: no value for port input", port};
  }
  const std::uint64_t mask = bytes == 4 ? 0xFFFF'FFFFu : (std::uint64_t{1} << (8 * bytes)) - 1;
  return static_cast<std::uint32_t>(rax & mask);
}

SnpStatus GhcbClient::io_out(std::uint16_t port, unsigned bytes, std::uint32_t value) {
  if (!valid_io_size(bytes)) return SnpError{"GHCB: bad port I/O size", bytes};
  Page page(*this);
  if (!page) return SnpError{"GHCB: page not mapped, or in use by an interrupted exchange", gpa_};
  page.clear();
  page.set(offsetof(fs::Ghcb, rax), value);
  const auto exit_result = exit(page, fs::ghcb_exit::kIoio, io_info(port, bytes, false), 0);
  if (!exit_result) return exit_result.error();
  return SnpStatus::success();
}

SnpResult<std::uint64_t> GhcbClient::read_msr(std::uint32_t msr) {
  Page page(*this);
  if (!page) return SnpError{"GHCB: page not mapped, or in use by an interrupted exchange", gpa_};
  page.clear();
  page.set(offsetof(fs::Ghcb, rcx), msr);
  const auto exit_result = exit(page, fs::ghcb_exit::kMsr, fs::kGhcbMsrRead, 0);
  if (!exit_result) return exit_result.error();
  std::uint64_t rax = 0;
  std::uint64_t rdx = 0;
  if (!page.get(offsetof(fs::Ghcb, rax), rax) || !page.get(offsetof(fs::Ghcb, rdx), rdx)) {
    return SnpError{"GHCB: no value for the MSR read", msr};
  }
  return (rdx & 0xFFFF'FFFF) << 32 | (rax & 0xFFFF'FFFF);
}

SnpStatus GhcbClient::write_msr(std::uint32_t msr, std::uint64_t value) {
  Page page(*this);
  if (!page) return SnpError{"GHCB: page not mapped, or in use by an interrupted exchange", gpa_};
  page.clear();
  page.set(offsetof(fs::Ghcb, rcx), msr);
  page.set(offsetof(fs::Ghcb, rax), value & 0xFFFF'FFFF);
  page.set(offsetof(fs::Ghcb, rdx), value >> 32);
  const auto exit_result = exit(page, fs::ghcb_exit::kMsr, fs::kGhcbMsrWrite, 0);
  if (!exit_result) return exit_result.error();
  return SnpStatus::success();
}

SnpResult<GhcbClient::Tsc> GhcbClient::read_tsc(bool with_aux) {
  Page page(*this);
  if (!page) return SnpError{"GHCB: page not mapped, or in use by an interrupted exchange", gpa_};
  page.clear();
  const auto exit_result =
      exit(page, with_aux ? fs::ghcb_exit::kRdtscp : fs::ghcb_exit::kRdtsc, 0, 0);
  if (!exit_result) return exit_result.error();
  std::uint64_t rax = 0;
  std::uint64_t rdx = 0;
  std::uint64_t rcx = 0;
  if (!page.get(offsetof(fs::Ghcb, rax), rax) || !page.get(offsetof(fs::Ghcb, rdx), rdx) ||
      (with_aux && !page.get(offsetof(fs::Ghcb, rcx), rcx))) {
    return SnpError{"GHCB: no value for the TSC read"};
  }
  return Tsc{(rdx & 0xFFFF'FFFF) << 32 | (rax & 0xFFFF'FFFF), static_cast<std::uint32_t>(rcx)};
}

SnpStatus GhcbClient::page_state_change(std::uint64_t gpa, std::uint64_t size, Encryption state,
                                        bool use_2m) {
  if ((gpa & kPageMask) != 0 || (size & kPageMask) != 0 || gpa + size < gpa) {
    return SnpError{"GHCB: page state change of an unaligned range", gpa, size};
  }
  const std::uint64_t operation =
      state == Encryption::kPrivate ? fs::psc_entry::kOpPrivate : fs::psc_entry::kOpShared;
  const std::uint64_t end = gpa + size;
  std::uint64_t next = gpa;
  while (next < end) {
    Page page(*this);
    if (!page) return SnpError{"GHCB: page not mapped, or in use by an interrupted exchange", gpa_};
    page.clear();
    // Fill the shared buffer with as many entries as fit.
    std::uint16_t count = 0;
    while (next < end && count < fs::kPscMaxEntries) {
      const bool large =
          use_2m && (next & (kLargePageSize - 1)) == 0 && end - next >= kLargePageSize;
      std::uint64_t entry =
          (next & fs::psc_entry::kGfnMask) | operation << fs::psc_entry::kOperationShift;
      if (large) entry |= fs::psc_entry::kPageSize2M;
      page.store(offsetof(fs::Ghcb, shared_buffer) + sizeof(fs::PscHeader) + count * 8u, entry);
      ++count;
      next += large ? kLargePageSize : kPageSize;
    }
    const std::uint64_t header = std::uint64_t{static_cast<std::uint16_t>(count - 1)} << 16;
    page.store(offsetof(fs::Ghcb, shared_buffer), header);  // cur_entry 0, end_entry count - 1
    // The hypervisor works through the list and advances cur_entry; it may stop early, in which
    // case the request is repeated, but it must make progress.
    std::uint16_t done = 0;
    for (unsigned attempt = 0; attempt < 2u * fs::kPscMaxEntries + 2; ++attempt) {
      page.set(offsetof(fs::Ghcb, sw_scratch), gpa_ + offsetof(fs::Ghcb, shared_buffer));
      const auto exit_result = exit(page, fs::ghcb_exit::kPageStateChange, 0, 0);
      if (!exit_result) return exit_result.error();
      if (exit_result.value().info2 != 0) {
        return SnpError{"GHCB: page state change refused", next, exit_result.value().info2};
      }
      const std::uint64_t now = page.load(offsetof(fs::Ghcb, shared_buffer));
      const auto cur = static_cast<std::uint16_t>(now);
      const auto last = static_cast<std::uint16_t>(now >> 16);
      if (last != count - 1 || cur < done) {
        return SnpError{"GHCB: the hypervisor corrupted the page state change list", now};
      }
      if (cur > last) {
        done = count;
        break;
      }
      if (cur == done && attempt != 0) {
        return SnpError{"GHCB: page state change makes no progress", now};
      }
      done = cur;
    }
    if (done != count) return SnpError{"GHCB: page state change did not finish", gpa, size};
  }
  return SnpStatus::success();
}

SnpResult<std::uint64_t> GhcbClient::guest_request(std::uint64_t request_gpa,
                                                   std::uint64_t response_gpa) {
  Page page(*this);
  if (!page) return SnpError{"GHCB: page not mapped, or in use by an interrupted exchange", gpa_};
  page.clear();
  const auto exit_result = exit(page, fs::ghcb_exit::kGuestRequest, request_gpa, response_gpa);
  if (!exit_result) return exit_result.error();
  // The outcome is in exit_info_2: firmware error in bits 31:0, hypervisor error in 63:32.
  return exit_result.value().info2;
}

SnpStatus GhcbClient::ap_create(std::uint64_t request, std::uint32_t apic_id, std::uint8_t vmpl,
                                std::uint64_t vmsa_gpa, std::uint64_t sev_features) {
  Page page(*this);
  if (!page) return SnpError{"GHCB: page not mapped, or in use by an interrupted exchange", gpa_};
  page.clear();
  page.set(offsetof(fs::Ghcb, rax), sev_features);
  const auto exit_result = exit(page, fs::ghcb_exit::kApCreation,
                                fs::ap_creation::exit_info_1(request, vmpl, apic_id), vmsa_gpa);
  if (!exit_result) return exit_result.error();
  return SnpStatus::success();
}

}  // namespace cvtpm::snp
