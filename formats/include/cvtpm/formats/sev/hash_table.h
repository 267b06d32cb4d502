// The SEV hash table QEMU places into OVMF's kernel-hashes area for measured direct boot
// (QEMU target/i386/sev.c "SevHashTable"; OVMF BlobVerifierLibSevHashes). Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cvtpm/formats/guid.h"

namespace cvtpm::formats::sev {

#pragma pack(push, 1)
struct HashTableEntry {
  Guid guid;
  std::uint16_t length;  // sizeof(HashTableEntry)
  std::uint8_t sha256[32];
};
static_assert(sizeof(HashTableEntry) == 50);

struct HashTable {
  Guid guid;
  std::uint16_t length;  // sizeof(HashTable)
  HashTableEntry cmdline;
  HashTableEntry initrd;
  HashTableEntry kernel;
};
static_assert(sizeof(HashTable) == 168);
#pragma pack(pop)

// QEMU zero-pads the table to a multiple of 16 bytes before copying it into the guest.
struct PaddedHashTable {
  HashTable table;
  std::uint8_t padding[8];
};
static_assert(sizeof(PaddedHashTable) == 176);

namespace guids {
inline constexpr Guid kHashTableHeader = Guid::parse("9438d606-4f22-4cc9-b479-a793d411fd21");
inline constexpr Guid kKernelEntry = Guid::parse("4de79437-abd2-427f-b835-d5b172d2045b");
inline constexpr Guid kInitrdEntry = Guid::parse("44baf731-3a2f-4bd7-9af1-41e29169781d");
inline constexpr Guid kCmdlineEntry = Guid::parse("97d02dd8-bd20-4c94-aa78-e7714d36ab2a");
}  // namespace guids

}  // namespace cvtpm::formats::sev
