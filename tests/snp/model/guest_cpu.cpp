#include "model/guest_cpu.h"

#include <string>

namespace cvtpm::snp::model {

std::uint8_t* GuestCpu::checked(std::uint64_t gpa, std::size_t size, Encryption encryption,
                                bool write) {
  const std::size_t faults = machine_.faults().size();
  std::uint8_t* p = machine_.guest_access(apic_id_, gpa, size, vmpl_, encryption, write);
  if (p == nullptr) {
    const std::string what =
        machine_.faults().size() > faults ? machine_.faults().back() : std::string("access denied");
    throw ModelFault("guest at VMPL" + std::to_string(vmpl_) + ": " + what);
  }
  return p;
}

std::vector<std::uint8_t> GuestCpu::read(std::uint64_t gpa, std::size_t size) {
  std::vector<std::uint8_t> out(size);
  std::size_t done = 0;
  while (done < size) {
    const std::size_t chunk = std::min<std::size_t>(size - done, 4096 - ((gpa + done) & 4095));
    std::memcpy(out.data() + done, checked(gpa + done, chunk, Encryption::kPrivate, false), chunk);
    done += chunk;
  }
  return out;
}

void GuestCpu::write(std::uint64_t gpa, std::span<const std::uint8_t> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const std::size_t chunk =
        std::min<std::size_t>(bytes.size() - done, 4096 - ((gpa + done) & 4095));
    std::memcpy(checked(gpa + done, chunk, Encryption::kPrivate, true), bytes.data() + done, chunk);
    done += chunk;
  }
}

void GuestCpu::zero(std::uint64_t gpa, std::size_t size) {
  write(gpa, std::vector<std::uint8_t>(size, 0));
}

std::vector<std::uint8_t> GuestCpu::read_shared(std::uint64_t gpa, std::size_t size) {
  std::vector<std::uint8_t> out(size);
  std::memcpy(out.data(), checked(gpa, size, Encryption::kShared, false), size);
  return out;
}

void GuestCpu::write_shared(std::uint64_t gpa, std::span<const std::uint8_t> bytes) {
  std::memcpy(checked(gpa, bytes.size(), Encryption::kShared, true), bytes.data(), bytes.size());
}

std::uint8_t GuestCpu::exchange8(std::uint64_t gpa, std::uint8_t value) {
  std::uint8_t* p = checked(gpa, 1, Encryption::kPrivate, true);
  const std::uint8_t old = *p;
  *p = value;
  return old;
}

std::uint64_t GuestCpu::ghcb_msr() const {
  return machine_.vcpu(apic_id_).ghcb_msr.at(vmpl_);
}

void GuestCpu::set_ghcb_msr(std::uint64_t value) {
  machine_.vcpu(apic_id_).ghcb_msr.at(vmpl_) = value;
}

void GuestCpu::vmgexit() {
  machine_.vmgexit(apic_id_, vmpl_);
}

PvalidateOutcome GuestCpu::pvalidate(std::uint64_t gpa, PageSize size, bool validate) {
  return machine_.pvalidate(vmpl_, gpa, size, validate);
}

std::uint32_t GuestCpu::rmpadjust(std::uint64_t gpa, PageSize size, std::uint64_t attributes) {
  return machine_.rmpadjust(vmpl_, gpa, size, attributes);
}

}  // namespace cvtpm::snp::model
