#include "model/guest_ovmf.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "cvtpm/vtpm/svsm_abi.h"

namespace cvtpm::snp::model {

namespace {

constexpr std::uint64_t k4K = 4096;
constexpr std::uint64_t k2M = 2 * 1024 * 1024;
constexpr std::uint64_t k4G = std::uint64_t{1} << 32;
// BuildPageStateBuffer's entries per buffer: (size - 8) / 8, down to a multiple of the 253
// entries of a page-state-change request where that leaves any.
constexpr std::size_t kSecBufferEntries = 127;  // SEC: the work area's 1 KiB WorkBuffer
constexpr std::size_t kPeiBufferEntries = 506;  // PEI: one page (511, down to 2 x 253)
constexpr std::size_t kCallEntries = 510;       // what fits the calling area's buffer

std::string hex(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

struct MapEntry {
  std::uint64_t page_start;
  std::uint64_t page_count;
  std::uint16_t type;
  std::uint16_t flags;
  std::uint32_t reserved;
};
static_assert(sizeof(MapEntry) == 24);

// PlatformIgvmMemoryMapFind + PlatformIgvmScanE820; empty if OVMF would not use the map.
std::vector<ModelRange> igvm_memory_map(GuestCpu& cpu, std::uint64_t base) {
  std::vector<ModelRange> ram;
  constexpr std::size_t kEntries = 8;  // MEMORY_MAP_ENTRIES in Igvm.c
  const std::vector<std::uint8_t> bytes = cpu.read(base, kEntries * sizeof(MapEntry));
  MapEntry first;
  std::memcpy(&first, bytes.data(), sizeof first);
  if (first.page_count == 0) return ram;
  if ((first.type & 0xFFF0) != 0 || first.reserved != 0) return ram;
  for (std::size_t i = 0; i < kEntries; ++i) {
    MapEntry e;
    std::memcpy(&e, bytes.data() + i * sizeof e, sizeof e);
    if (e.page_count == 0) break;
    if (e.type == 0) ram.push_back({e.page_start * k4K, (e.page_start + e.page_count) * k4K});
  }
  return ram;
}

// One SVSM_CORE_PVALIDATE with the list in the calling area; returns RAX and the list's `next`.
std::pair<vtpm::SvsmResult, std::uint16_t> pvalidate_call(GuestSvsm& svsm,
                                                          const std::vector<std::uint64_t>& list) {
  const std::uint64_t at = svsm.caa() + vtpm::kCallingAreaBufferOffset;
  std::vector<std::uint8_t> bytes(8 + list.size() * 8, 0);
  const auto count = static_cast<std::uint16_t>(list.size());
  std::memcpy(bytes.data(), &count, 2);
  std::memcpy(bytes.data() + 8, list.data(), list.size() * 8);
  svsm.cpu().write(at, bytes);
  const vtpm::SvsmRegisters out =
      svsm.call({vtpm::call_rax(vtpm::Protocol::kCore, vtpm::core_call::kPvalidate), at, 0, 0, 0});
  std::uint16_t next = 0;
  const std::vector<std::uint8_t> header = svsm.cpu().read(at, 8);
  std::memcpy(&next, header.data() + 2, 2);
  return {static_cast<vtpm::SvsmResult>(out.rax), next};
}

// SvsmPvalidate over one buffer of entries.
void svsm_pvalidate_buffer(GuestSvsm& svsm, const std::vector<std::uint64_t>& entries,
                           OvmfPei& out) {
  std::size_t index = 0;
  while (index < entries.size()) {
    const std::size_t n = std::min(kCallEntries, entries.size() - index);
    const std::vector<std::uint64_t> call(entries.begin() + static_cast<std::ptrdiff_t>(index),
                                          entries.begin() + static_cast<std::ptrdiff_t>(index + n));
    const auto [result, next] = pvalidate_call(svsm, call);
    ++out.pvalidate_calls;
    if (result == vtpm::SvsmResult::kSuccess) {
      index += n;
      continue;
    }
    const bool large = next < call.size() && (call[next] & vtpm::pvalidate_entry::kPageSizeMask) ==
                                                 vtpm::pvalidate_entry::kPageSize2M;
    if (result != vtpm::SvsmResult::kPvalidateFailSizeMismatch || !large) {
      throw GuestError("OVMF: SnpTerminate(): SVSM_CORE_PVALIDATE of " +
                       hex(next < call.size() ? call[next] & ~std::uint64_t{0xFFF} : 0) +
                       " failed with " + hex(static_cast<std::uint64_t>(result)));
    }
    // The failing 2 MiB entry again as 4 KiB entries, then on after it.
    const std::uint64_t gpa = call[next] & ~std::uint64_t{0xFFF};
    for (std::uint64_t done = 0; done < k2M / k4K;) {
      std::vector<std::uint64_t> small;
      for (; done < k2M / k4K && small.size() < kCallEntries; ++done)
        small.push_back(pvalidate_entry(gpa + done * k4K, true));
      const auto [r, at] = pvalidate_call(svsm, small);
      ++out.pvalidate_calls;
      if (r != vtpm::SvsmResult::kSuccess) {
        throw GuestError("OVMF: SnpTerminate(): 4 KiB SVSM_CORE_PVALIDATE of " +
                         hex(gpa + (done - small.size() + at) * k4K) + " failed with " +
                         hex(static_cast<std::uint64_t>(r)));
      }
    }
    index += next + 1u;
  }
}

// InternalSetPageState(..., SevSnpPagePrivate, UseLargeEntry = TRUE, one page of buffer).
void validate_range(GuestSvsm& svsm, std::uint64_t base, std::uint64_t end,
                    std::size_t buffer_entries, OvmfPei& out) {
  while (base < end) {
    std::vector<std::uint64_t> entries;
    while (base < end && entries.size() < buffer_entries) {
      if (base % k2M == 0 && end - base >= k2M) {
        entries.push_back(pvalidate_entry(base, true, true));
        base += k2M;
      } else {
        entries.push_back(pvalidate_entry(base, true));
        base += k4K;
      }
    }
    svsm_pvalidate_buffer(svsm, entries, out);
  }
}

}  // namespace

OvmfPei ovmf_validate_ram(GuestSvsm& svsm, const OvmfBuild& build,
                          const std::vector<ModelRange>& e820) {
  OvmfPei out;
  // SEC: SecValidateSystemRam.
  validate_range(svsm, build.sec_validated.start, build.sec_validated.end, kSecBufferEntries, out);
  // PEI: PlatformInitLib's RAM map, then AmdSevSnpInitialize.
  if (build.igvm_param_base != 0) {
    out.system_ram = igvm_memory_map(svsm.cpu(), build.igvm_param_base);
  }
  out.from_igvm_map = !out.system_ram.empty();
  if (!out.from_igvm_map) out.system_ram = e820;
  const ModelRange pre_validated[] = {build.launch_validated, build.sec_validated};
  for (const ModelRange& r : out.system_ram) {
    if (r.start >= k4G) continue;  // accepted lazily by the OS
    // MemEncryptSevSnpPreValidateSystemRam: everything but the pre-validated overlaps, each
    // skipped whole (DetectPreValidatedOverLap).
    std::uint64_t base = r.start;
    while (base < r.end) {
      const ModelRange* overlap = nullptr;
      for (const ModelRange& p : pre_validated) {
        if (p.start < r.end && base < p.end) {
          overlap = &p;
          break;
        }
      }
      if (overlap == nullptr) {
        validate_range(svsm, base, r.end, kPeiBufferEntries, out);
        break;
      }
      if (base < overlap->start) validate_range(svsm, base, overlap->start, kPeiBufferEntries, out);
      base = overlap->end;
    }
  }
  return out;
}

}  // namespace cvtpm::snp::model
