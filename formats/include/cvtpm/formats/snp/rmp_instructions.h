// Operands and results of the SEV-SNP guest instructions that change the reverse map table (AMD64
// Architecture Programmer's Manual, volume 3: PVALIDATE and RMPADJUST; volume 2 section 15.36
// "Secure Nested Paging"):
//   PVALIDATE  RAX = guest virtual address, ECX = page size (0 = 4 KiB, 1 = 2 MiB),
//              EDX = 1 validate / 0 rescind; EAX = result, CF = 1 when nothing changed.
//   RMPADJUST  RAX = guest virtual address, ECX = page size, RDX = attributes below;
//              EAX = result.
// Freestanding.
#pragma once

#include <cstdint>

namespace cvtpm::formats::snp {

namespace rmp_result {
inline constexpr std::uint32_t kSuccess = 0;
inline constexpr std::uint32_t kFailInput = 1;
inline constexpr std::uint32_t kFailPermission = 2;
// RMPUPDATE's "in use" code (APM vol. 2 §15.36.12: a VMSA is in use between VMRUN and #VMEXIT);
// the model answers RMPADJUST of a running VMSA with it too (see docs/snp-model-limits.md).
inline constexpr std::uint32_t kFailInUse = 3;
inline constexpr std::uint32_t kFailSizeMismatch = 6;
}  // namespace rmp_result

// Per-VMPL permission bits of an RMP entry.
namespace vmpl_permission {
inline constexpr std::uint8_t kRead = 1u << 0;
inline constexpr std::uint8_t kWrite = 1u << 1;
inline constexpr std::uint8_t kExecuteUser = 1u << 2;
inline constexpr std::uint8_t kExecuteSupervisor = 1u << 3;
inline constexpr std::uint8_t kAll = kRead | kWrite | kExecuteUser | kExecuteSupervisor;
}  // namespace vmpl_permission

// RMPADJUST attributes (RDX): bits 7:0 the target VMPL (it must be less privileged than the
// caller's), bits 15:8 the permissions it gets (at most the caller's own), bit 16 the VMSA flag
// of the page (only VMPL0 may set or clear it).
constexpr std::uint64_t rmpadjust_attributes(std::uint8_t target_vmpl, std::uint8_t permissions,
                                             bool vmsa) {
  return std::uint64_t{target_vmpl} | std::uint64_t{permissions} << 8 |
         (vmsa ? std::uint64_t{1} << 16 : 0);
}
constexpr std::uint8_t rmpadjust_target_vmpl(std::uint64_t attributes) {
  return static_cast<std::uint8_t>(attributes);
}
constexpr std::uint8_t rmpadjust_permissions(std::uint64_t attributes) {
  return static_cast<std::uint8_t>(attributes >> 8);
}
constexpr bool rmpadjust_vmsa(std::uint64_t attributes) {
  return (attributes >> 16 & 1) != 0;
}
inline constexpr std::uint64_t kRmpadjustReservedMask = ~std::uint64_t{0x1'FFFF};

}  // namespace cvtpm::formats::snp
