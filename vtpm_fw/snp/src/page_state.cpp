#include "cvtpm/snp/page_state.h"

#include <cstring>

#include "cvtpm/formats/snp/rmp_instructions.h"
#include "cvtpm/snp/ghcb_msr.h"

namespace cvtpm::snp {

namespace fs = formats::snp;

namespace {

SnpStatus pvalidate_4k_range(SnpHardware& hardware, std::uint64_t gpa, std::uint64_t size) {
  for (std::uint64_t page = gpa; page < gpa + size; page += kPageSize) {
    const PvalidateOutcome outcome = hardware.pvalidate(page, PageSize::k4K, true);
    if (outcome.result != fs::rmp_result::kSuccess) {
      return SnpError{"PVALIDATE failed", page, outcome.result};
    }
    if (!outcome.changed) return SnpError{"PVALIDATE: page was already validated", page};
  }
  return SnpStatus::success();
}

}  // namespace

SnpStatus accept_private(SnpHardware& hardware, GhcbClient* ghcb, std::uint64_t gpa,
                         std::uint64_t size) {
  if ((gpa & kPageMask) != 0 || (size & kPageMask) != 0 || gpa + size < gpa) {
    return SnpError{"accept: unaligned range", gpa, size};
  }
  if (size == 0) return SnpStatus::success();
  if (ghcb != nullptr && ghcb->bound()) {
    if (SnpStatus s = ghcb->page_state_change(gpa, size, Encryption::kPrivate, true); !s) return s;
  } else {
    for (std::uint64_t page = gpa; page < gpa + size; page += kPageSize) {
      if (SnpStatus s = msr_protocol::page_state_change(hardware, page, Encryption::kPrivate); !s) {
        return s;
      }
    }
  }
  std::uint64_t next = gpa;
  const std::uint64_t end = gpa + size;
  while (next < end) {
    if ((next & (kLargePageSize - 1)) == 0 && end - next >= kLargePageSize) {
      const PvalidateOutcome outcome = hardware.pvalidate(next, PageSize::k2M, true);
      if (outcome.result == fs::rmp_result::kFailSizeMismatch) {
        // The hypervisor backs this range with 4 KiB RMP entries.
        if (SnpStatus s = pvalidate_4k_range(hardware, next, kLargePageSize); !s) return s;
      } else if (outcome.result != fs::rmp_result::kSuccess) {
        return SnpError{"PVALIDATE (2 MiB) failed", next, outcome.result};
      } else if (!outcome.changed) {
        return SnpError{"PVALIDATE: page was already validated", next};
      }
      next += kLargePageSize;
    } else {
      if (SnpStatus s = pvalidate_4k_range(hardware, next, kPageSize); !s) return s;
      next += kPageSize;
    }
  }
  return SnpStatus::success();
}

SnpStatus make_page_shared(SnpHardware& hardware, GhcbClient* ghcb, std::uint64_t gpa) {
  if ((gpa & kPageMask) != 0) return SnpError{"make shared: unaligned page", gpa};
  const PvalidateOutcome outcome = hardware.pvalidate(gpa, PageSize::k4K, false);
  if (outcome.result != fs::rmp_result::kSuccess || !outcome.changed) {
    return SnpError{"PVALIDATE (rescind) failed", gpa, outcome.result};
  }
  if (ghcb != nullptr && ghcb->bound()) {
    if (SnpStatus s = ghcb->page_state_change(gpa, kPageSize, Encryption::kShared, false); !s) {
      return s;
    }
  } else if (SnpStatus s = msr_protocol::page_state_change(hardware, gpa, Encryption::kShared);
             !s) {
    return s;
  }
  if (!hardware.set_page_encryption(gpa, Encryption::kShared)) {
    return SnpError{"make shared: the page is not mapped with 4 KiB pages", gpa};
  }
  return SnpStatus::success();
}

SnpStatus set_vmpl_permissions(SnpHardware& hardware, std::uint64_t gpa, std::uint64_t size,
                               std::uint8_t vmpl, std::uint8_t permissions, PageSize page_size) {
  const std::uint64_t step = page_size == PageSize::k2M ? kLargePageSize : kPageSize;
  if (vmpl == 0 || vmpl > 3 || (gpa & (step - 1)) != 0 || (size & (step - 1)) != 0) {
    return SnpError{"RMPADJUST: bad request", gpa, size};
  }
  const std::uint64_t attributes = fs::rmpadjust_attributes(vmpl, permissions, false);
  for (std::uint64_t page = gpa; page < gpa + size; page += step) {
    const std::uint32_t result = hardware.rmpadjust(page, page_size, attributes);
    if (result != fs::rmp_result::kSuccess) return SnpError{"RMPADJUST failed", page, result};
  }
  return SnpStatus::success();
}

SnpStatus revoke_lower_vmpls(SnpHardware& hardware, std::uint64_t gpa, PageSize page_size,
                             std::uint8_t from_vmpl) {
  const std::uint64_t size = page_size == PageSize::k2M ? kLargePageSize : kPageSize;
  for (std::uint8_t vmpl = from_vmpl < 1 ? 1 : from_vmpl; vmpl <= 3; ++vmpl) {
    if (SnpStatus s = set_vmpl_permissions(hardware, gpa, size, vmpl, 0, page_size); !s) return s;
  }
  return SnpStatus::success();
}

SnpStatus zero_private(SnpHardware& hardware, std::uint64_t gpa, std::uint64_t size) {
  if ((gpa & kPageMask) != 0 || (size & kPageMask) != 0) {
    return SnpError{"zero: unaligned range", gpa, size};
  }
  for (std::uint64_t page = gpa; page < gpa + size; page += kPageSize) {
    Mapping mapping(hardware, page, kPageSize, Encryption::kPrivate);
    if (!mapping) return SnpError{"zero: page not accessible", page};
    std::memset(mapping.data(), 0, kPageSize);
  }
  return SnpStatus::success();
}

}  // namespace cvtpm::snp
