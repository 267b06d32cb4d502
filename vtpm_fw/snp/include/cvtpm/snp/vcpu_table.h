// The guest's vCPUs the SVSM knows: for each, the APIC ID, the guest VMSA it runs (at the guest
// VMPL) and the calling area its calls come through. Slot 0 is the boot vCPU, whose VMSA the
// firmware created in its own memory; CREATE_VCPU adds the others (their VMSAs are guest pages
// the SVSM took over). Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::snp {

struct VcpuEntry {
  bool used = false;
  std::uint32_t apic_id = 0;
  std::uint64_t vmsa_gpa = 0;
  std::uint64_t caa_gpa = 0;
  bool firmware_vmsa = false;  // the VMSA is a firmware page (the boot vCPU)
  bool running = false;        // its VMPL0 loop has handed it to the processor
};

class VcpuTable {
 public:
  static constexpr std::size_t kCapacity = 64;

  // The slot of the entry, or kCapacity.
  std::size_t find_apic(std::uint32_t apic_id) const;
  std::size_t find_vmsa(std::uint64_t vmsa_gpa) const;
  // Whether [gpa, gpa + size) touches a VMSA page the SVSM took from the guest.
  bool overlaps_guest_vmsa(std::uint64_t gpa, std::uint64_t size) const;
  // A free slot (the boot vCPU only in slot 0), or kCapacity.
  std::size_t allocate(bool boot_vcpu);

  VcpuEntry& operator[](std::size_t slot) { return entries_[slot]; }
  const VcpuEntry& operator[](std::size_t slot) const { return entries_[slot]; }
  std::size_t count() const;

 private:
  VcpuEntry entries_[kCapacity];
};

}  // namespace cvtpm::snp
