#include "cvtpm/vtpm/protocol_core.h"

#include <cstddef>

namespace cvtpm::vtpm {
namespace {

constexpr bool page_aligned(std::uint64_t gpa) {
  return (gpa & kPageMask) == 0;
}

// Entries read from the guest per chunk: each entry is fetched exactly once, with a small stack.
constexpr std::size_t kEntryChunk = 32;

SvsmResult pvalidate_failure(PvalidateStatus status, bool ignore_cf) {
  switch (status) {
    case PvalidateStatus::kSuccess:
      return SvsmResult::kSuccess;
    case PvalidateStatus::kNoChange:
      return ignore_cf ? SvsmResult::kSuccess : SvsmResult::kPvalidateFailNoChange;
    case PvalidateStatus::kFailInput:
      return SvsmResult::kPvalidateFailInput;
    case PvalidateStatus::kFailSizeMismatch:
      return SvsmResult::kPvalidateFailSizeMismatch;
  }
  return SvsmResult::kPvalidateFailInput;
}

}  // namespace

SvsmResult CoreProtocol::handle(std::uint32_t call, const CallContext& context,
                                SvsmRegisters& regs) {
  switch (call) {
    case core_call::kRemapCa:
      return remap_ca(context, regs);
    case core_call::kPvalidate:
      return pvalidate(regs);
    case core_call::kCreateVcpu:
      return create_vcpu(regs);
    case core_call::kDeleteVcpu:
      return delete_vcpu(regs);
    case core_call::kQueryProtocol:
      return query_protocol(regs);
    case core_call::kConfigureVtom:
      return configure_vtom(regs);
    default:  // DEPOSIT_MEM and WITHDRAW_MEM included: no implementation defines them
      return SvsmResult::kUnsupportedCall;
  }
}

SvsmResult CoreProtocol::remap_ca(const CallContext& context, SvsmRegisters& regs) {
  const std::uint64_t gpa = regs.rcx;
  if (!page_aligned(gpa)) return SvsmResult::kInvalidParameter;
  if (!memory_.owns(gpa, kPageSize)) return SvsmResult::kInvalidAddress;
  if (gpa == context.caa_gpa) return SvsmResult::kSuccess;  // already there: nothing to do
  if (const SvsmResult r = platform_.remap_ca(context.vcpu_index, gpa); r != SvsmResult::kSuccess) {
    return r;
  }
  // A fresh calling area starts out zeroed: no stale call_pending.
  return memory_.zero(gpa, kPageSize);
}

// The list is header + entries in one page. Each call processes entries from `next` until the
// list is done, an entry fails (next = the failing entry) or the work budget is used up
// (SVSM_ERR_INCOMPLETE, next = the first entry not done).
SvsmResult CoreProtocol::pvalidate(SvsmRegisters& regs) {
  const std::uint64_t gpa = regs.rcx;
  if ((gpa & 7) != 0) return SvsmResult::kInvalidParameter;
  PvalidateRequestHeader header{};
  if (const SvsmResult r = memory_.read_object(gpa, header); r != SvsmResult::kSuccess) return r;
  const std::uint64_t in_page = kPageSize - (gpa & kPageMask) - sizeof(PvalidateRequestHeader);
  const std::uint64_t max_entries = in_page / sizeof(std::uint64_t);
  if (header.entries == 0 || header.entries > max_entries || header.next >= header.entries) {
    return SvsmResult::kInvalidParameter;
  }

  const std::uint64_t entries_gpa = gpa + sizeof(PvalidateRequestHeader);
  const std::uint32_t first = header.next;
  std::uint64_t budget = config_.pvalidate_budget_pages;
  std::uint32_t index = first;
  SvsmResult outcome = SvsmResult::kSuccess;

  while (index < header.entries && outcome == SvsmResult::kSuccess) {
    std::uint64_t chunk[kEntryChunk];
    const std::size_t count =
        header.entries - index < kEntryChunk ? header.entries - index : kEntryChunk;
    if (const SvsmResult r = memory_.read(entries_gpa + std::uint64_t{index} * 8,
                                          {reinterpret_cast<std::uint8_t*>(chunk), count * 8});
        r != SvsmResult::kSuccess) {
      outcome = r;
      break;
    }
    for (std::size_t i = 0; i < count; ++i, ++index) {
      const std::uint64_t entry = chunk[i];
      const std::uint64_t size_bits = entry & pvalidate_entry::kPageSizeMask;
      if ((entry & pvalidate_entry::kReservedMask) != 0 ||
          (size_bits != pvalidate_entry::kPageSize4K &&
           size_bits != pvalidate_entry::kPageSize2M)) {
        outcome = SvsmResult::kInvalidParameter;
        break;
      }
      const bool large = size_bits == pvalidate_entry::kPageSize2M;
      const std::uint64_t page_gpa = entry & pvalidate_entry::kGfnMask;
      const std::uint64_t page_bytes = large ? kLargePageSize : kPageSize;
      if ((page_gpa & (page_bytes - 1)) != 0) {
        outcome = SvsmResult::kInvalidParameter;
        break;
      }
      if (!memory_.owns(page_gpa, page_bytes)) {
        outcome = SvsmResult::kInvalidAddress;
        break;
      }
      const std::uint64_t cost = page_bytes / kPageSize;
      if (cost > budget && index != first) {  // the first entry always goes, however large
        outcome = SvsmResult::kIncomplete;
        break;
      }
      budget = cost > budget ? 0 : budget - cost;
      const PvalidateStatus status =
          platform_.pvalidate(page_gpa, large ? PageSize::k2M : PageSize::k4K,
                              (entry & pvalidate_entry::kValidate) != 0);
      outcome = pvalidate_failure(status, (entry & pvalidate_entry::kIgnoreCf) != 0);
      if (outcome != SvsmResult::kSuccess) break;
    }
  }

  const std::uint16_t next = static_cast<std::uint16_t>(index);
  if (next != header.next) {
    const SvsmResult r = memory_.write_object(gpa + offsetof(PvalidateRequestHeader, next), next);
    if (r != SvsmResult::kSuccess) return r;
  }
  return outcome;
}

SvsmResult CoreProtocol::create_vcpu(SvsmRegisters& regs) {
  const std::uint64_t vmsa = regs.rcx;
  const std::uint64_t caa = regs.rdx;
  const auto apic_id = static_cast<std::uint32_t>(regs.r8);  // R8[63:32] are not part of the call
  if (!page_aligned(vmsa) || !page_aligned(caa) || vmsa == caa) {
    return SvsmResult::kInvalidParameter;
  }
  if (!memory_.owns(vmsa, kPageSize) || !memory_.owns(caa, kPageSize)) {
    return SvsmResult::kInvalidAddress;
  }
  return platform_.create_vcpu(vmsa, caa, apic_id);
}

SvsmResult CoreProtocol::delete_vcpu(SvsmRegisters& regs) {
  const std::uint64_t vmsa = regs.rcx;
  if (!page_aligned(vmsa)) return SvsmResult::kInvalidParameter;
  return platform_.delete_vcpu(vmsa);
}

SvsmResult CoreProtocol::query_protocol(SvsmRegisters& regs) const {
  const auto protocol = static_cast<std::uint32_t>(regs.rcx >> 32);
  const auto version = static_cast<std::uint32_t>(regs.rcx);
  std::uint32_t min = 0;
  std::uint32_t max = 0;
  switch (protocol) {
    case static_cast<std::uint32_t>(Protocol::kCore):
      min = max = kCoreProtocolVersion;
      break;
    case static_cast<std::uint32_t>(Protocol::kAttestation):
      min = max = kAttestProtocolVersion;
      break;
    case static_cast<std::uint32_t>(Protocol::kVtpm):
      if (config_.vtpm_present) min = max = kVtpmProtocolVersion;
      break;
    default:
      break;
  }
  const bool supported = min != 0 && version >= min && version <= max;
  regs.rcx = supported ? std::uint64_t{max} << 32 | min : 0;
  return SvsmResult::kSuccess;  // "not supported" is an answer, not an error
}

SvsmResult CoreProtocol::configure_vtom(SvsmRegisters& regs) const {
  if ((regs.rcx & 1) == 0) return SvsmResult::kInvalidRequest;  // vTOM cannot be configured
  regs.rcx = 0;                                                 // query: no vTOM support
  return SvsmResult::kSuccess;
}

}  // namespace cvtpm::vtpm
