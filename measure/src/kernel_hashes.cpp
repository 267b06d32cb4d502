#include "cvtpm/measure/kernel_hashes.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace cvtpm::measure {

namespace sev = formats::sev;

KernelHashes kernel_hashes(std::span<const std::uint8_t> kernel,
                           std::optional<std::span<const std::uint8_t>> initrd,
                           std::optional<std::string_view> append) {
  KernelHashes h{};
  h.kernel = sha256(kernel);
  h.initrd = sha256(initrd.value_or(std::span<const std::uint8_t>{}));
  // QEMU hashes the command line as the guest sees it, NUL included.
  std::string cmdline(append.value_or(""));
  h.cmdline =
      sha256(std::span(reinterpret_cast<const std::uint8_t*>(cmdline.c_str()), cmdline.size() + 1));
  return h;
}

sev::PaddedHashTable sev_hash_table(const KernelHashes& hashes) {
  auto entry = [](const formats::Guid& guid, const Sha256Digest& digest) {
    sev::HashTableEntry e{};
    e.guid = guid;
    e.length = sizeof(sev::HashTableEntry);
    std::memcpy(e.sha256, digest.data(), digest.size());
    return e;
  };
  sev::PaddedHashTable padded{};
  padded.table.guid = sev::guids::kHashTableHeader;
  padded.table.length = sizeof(sev::HashTable);
  padded.table.cmdline = entry(sev::guids::kCmdlineEntry, hashes.cmdline);
  padded.table.initrd = entry(sev::guids::kInitrdEntry, hashes.initrd);
  padded.table.kernel = entry(sev::guids::kKernelEntry, hashes.kernel);
  return padded;
}

std::array<std::uint8_t, 4096> kernel_hashes_page(const KernelHashes& hashes,
                                                  std::uint32_t offset_in_page) {
  std::array<std::uint8_t, 4096> page{};
  const sev::PaddedHashTable table = sev_hash_table(hashes);
  if (offset_in_page > page.size() - sizeof table) {
    throw std::invalid_argument("SEV hash table at page offset " + std::to_string(offset_in_page) +
                                " does not fit in its page");
  }
  std::memcpy(page.data() + offset_in_page, &table, sizeof table);
  return page;
}

}  // namespace cvtpm::measure
