// Measured direct boot: the SHA-256 hashes of kernel, initrd and command line that QEMU writes
// into OVMF's kernel-hashes area (and OVMF checks before booting the kernel).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "cvtpm/formats/sev/hash_table.h"
#include "cvtpm/support/digest.h"

namespace cvtpm::measure {

struct KernelHashes {
  Sha256Digest kernel;
  Sha256Digest initrd;   // of an empty file when no initrd is given
  Sha256Digest cmdline;  // of the command line with its terminating NUL
};

KernelHashes kernel_hashes(std::span<const std::uint8_t> kernel,
                           std::optional<std::span<const std::uint8_t>> initrd,
                           std::optional<std::string_view> append);

formats::sev::PaddedHashTable sev_hash_table(const KernelHashes& hashes);

// The 4 KiB page holding the padded table at `offset_in_page`, zeros elsewhere. Throws
// std::invalid_argument if the table does not fit.
std::array<std::uint8_t, 4096> kernel_hashes_page(const KernelHashes& hashes,
                                                  std::uint32_t offset_in_page);

}  // namespace cvtpm::measure
