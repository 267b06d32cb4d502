#include "cvtpm/snp/vcpu_table.h"

namespace cvtpm::snp {

std::size_t VcpuTable::find_apic(std::uint32_t apic_id) const {
  std::size_t found = kCapacity;
  for (std::size_t i = 0; i < kCapacity; ++i) {
    const VcpuEntry& e = entries_[i];
    if (!e.used || e.apic_id != apic_id) continue;
    if (found == kCapacity || e.generation > entries_[found].generation) found = i;
  }
  return found;
}

std::size_t VcpuTable::find_vmsa(std::uint64_t vmsa_gpa) const {
  for (std::size_t i = 0; i < kCapacity; ++i) {
    if (entries_[i].used && entries_[i].vmsa_gpa == vmsa_gpa) return i;
  }
  return kCapacity;
}

bool VcpuTable::overlaps_guest_vmsa(std::uint64_t gpa, std::uint64_t size) const {
  for (const VcpuEntry& e : entries_) {
    if (!e.used || e.firmware_vmsa) continue;
    if (gpa < e.vmsa_gpa + 4096 && e.vmsa_gpa < gpa + size) return true;
  }
  return false;
}

std::size_t VcpuTable::allocate(bool boot_vcpu) {
  if (boot_vcpu) return entries_[0].used ? kCapacity : 0;
  for (std::size_t i = 1; i < kCapacity; ++i) {
    if (!entries_[i].used) return i;
  }
  return kCapacity;
}

VcpuEntry& VcpuTable::take(std::size_t slot, std::uint32_t apic_id, std::uint64_t vmsa_gpa,
                           std::uint64_t caa_gpa) {
  VcpuEntry& e = entries_[slot];
  e = VcpuEntry{};
  e.used = true;
  e.apic_id = apic_id;
  e.vmsa_gpa = vmsa_gpa;
  e.caa_gpa = caa_gpa;
  e.generation = next_generation_++;
  return e;
}

std::size_t VcpuTable::count() const {
  std::size_t n = 0;
  for (const VcpuEntry& e : entries_) n += e.used ? 1 : 0;
  return n;
}

}  // namespace cvtpm::snp
