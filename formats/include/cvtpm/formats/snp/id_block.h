// SEV-SNP ID block and ID authentication information (SNP Firmware ABI, SNP_LAUNCH_FINISH:
// "ID_BLOCK" and "ID_AUTH_INFO"), with the ABI's ECDSA P-384 signature and public key formats.
// Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::formats::snp {

struct IdBlock {
  std::uint8_t launch_digest[48];
  std::uint8_t family_id[16];
  std::uint8_t image_id[16];
  std::uint32_t version;  // 1
  std::uint32_t guest_svn;
  std::uint64_t policy;
};
static_assert(sizeof(IdBlock) == 0x60);
static_assert(offsetof(IdBlock, family_id) == 0x30);
static_assert(offsetof(IdBlock, image_id) == 0x40);
static_assert(offsetof(IdBlock, version) == 0x50);
static_assert(offsetof(IdBlock, guest_svn) == 0x54);
static_assert(offsetof(IdBlock, policy) == 0x58);

inline constexpr std::uint32_t kIdBlockVersion = 1;
inline constexpr std::uint32_t kAlgoEcdsaP384Sha384 = 1;
inline constexpr std::uint32_t kCurveP384 = 2;

// r and s as little-endian integers zero-extended to 72 bytes.
struct EcdsaSignature {
  std::uint8_t r[72];
  std::uint8_t s[72];
  std::uint8_t reserved[368];
};
static_assert(sizeof(EcdsaSignature) == 512);

// Coordinates as little-endian integers zero-extended to 72 bytes.
struct EcdsaPublicKey {
  std::uint32_t curve;
  std::uint8_t qx[72];
  std::uint8_t qy[72];
  std::uint8_t reserved[880];
};
static_assert(sizeof(EcdsaPublicKey) == 0x404);

struct IdAuthInfo {
  std::uint32_t id_key_algo;
  std::uint32_t auth_key_algo;
  std::uint8_t reserved_008[56];
  EcdsaSignature id_block_sig;
  EcdsaPublicKey id_key;
  std::uint8_t reserved_644[60];
  EcdsaSignature id_key_sig;
  EcdsaPublicKey author_key;
  std::uint8_t reserved_c84[892];
};
static_assert(sizeof(IdAuthInfo) == 0x1000);
static_assert(offsetof(IdAuthInfo, id_block_sig) == 0x040);
static_assert(offsetof(IdAuthInfo, id_key) == 0x240);
static_assert(offsetof(IdAuthInfo, id_key_sig) == 0x680);
static_assert(offsetof(IdAuthInfo, author_key) == 0x880);

// SNP guest policy bits (SNP Firmware ABI, "GUEST_POLICY").
namespace guest_policy {
inline constexpr std::uint64_t kAbiMinorMask = 0xFFULL;
inline constexpr std::uint64_t kAbiMajorMask = 0xFFULL << 8;
inline constexpr std::uint64_t kSmt = 1ULL << 16;
inline constexpr std::uint64_t kReservedMustBeOne = 1ULL << 17;
inline constexpr std::uint64_t kMigrateMa = 1ULL << 18;
inline constexpr std::uint64_t kDebug = 1ULL << 19;
inline constexpr std::uint64_t kSingleSocket = 1ULL << 20;
inline constexpr std::uint64_t kCxlAllowed = 1ULL << 21;
inline constexpr std::uint64_t kMemAes256Xts = 1ULL << 22;
inline constexpr std::uint64_t kRaplDisabled = 1ULL << 23;
inline constexpr std::uint64_t kCiphertextHiding = 1ULL << 24;
inline constexpr std::uint64_t kPageSwapDisabled = 1ULL << 25;
inline constexpr std::uint64_t kDefault = kSmt | kReservedMustBeOne;  // 0x30000
}  // namespace guest_policy

}  // namespace cvtpm::formats::snp
