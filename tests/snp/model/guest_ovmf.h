// OVMF's SEC and PEI phases under an SVSM, for the model, written from edk2 at c5aa7e7
// (2026-08-06; Debian's ovmf-generic 2026.08 packages edk2-stable202608, which was not available
// to read: the same code is assumed):
//   - SEC (OvmfPkg/Sec/AmdSev.c SecValidateSystemRam) validates [PcdOvmfSecValidatedStart,
//     PcdOvmfSecValidatedEnd) through the SVSM, with SEC's 1 KiB work buffer (127 entries);
//   - the RAM map: the IGVM memory map in OVMF's IGVM parameter area when its first entry is
//     non-empty and sane (OvmfPkg/Library/PlatformInitLib/Igvm.c, PlatformIgvmMemoryMapFind and
//     PlatformIgvmScanE820: 24-byte entries up to the first with zero pages, type 0 memory,
//     type 1 reserved; a first entry with type bits 15:4 set or a non-zero reserved field makes
//     OVMF ignore the whole map, later entries of other types are skipped), else the
//     hypervisor's e820 map;
//   - PEI's AmdSevSnpInitialize (OvmfPkg/PlatformPei/AmdSev.c): every system-RAM range that
//     starts below 4 GiB is pre-validated, except [PcdOvmfSecPageTablesBase, PcdOvmfPeiMemFvBase)
//     (validated before OVMF ran), the IGVM data-HOB ranges (none here) and SEC's range
//     (MemEncryptSevSnpPreValidateSystemRam, DetectPreValidatedOverLap in
//     BaseMemEncryptSevLib/X64/PeiSnpSystemRamValidate.c), with one page of buffer (506 entries);
//   - through the SVSM (AmdSvsmLib.c SvsmPvalidate, SnpPageStateChangeInternal.c
//     BuildPageStateBuffer): 2 MiB entries where a range allows, at most 506 entries per buffer
//     (a multiple of the 253 entries of a page-state-change request), sent in calls of at most
//     510; FAIL_SIZEMISMATCH on a 2 MiB entry retries it as 512 4 KiB entries; any other error
//     is SnpTerminate(), which the model reports as a GuestError.
// The page state change to private that precedes each batch is left out: the model's memory
// starts private (KVM's guest_memfd), so it changes nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "model/guest_os.h"

namespace cvtpm::snp::model {

// What an OVMF build fixes at compile time (its PCDs). The defaults are OvmfPkgX64's
// (OvmfPkg/Include/Fdf/MemFd.fdf.inc with MEMFD_BASE_ADDRESS 0x800000, and
// FvmainCompactScratchEnd.fdf.inc for SEC's range: from the PEI FV to the end of the
// decompression scratch buffer, 0x1A10000 for the FV sizes of that file).
struct OvmfBuild {
  ModelRange launch_validated{0x80'0000, 0x83'0000};  // SecPageTablesBase .. PeiMemFvBase
  ModelRange sec_validated{0x83'0000, 0x1A1'0000};    // SecValidatedStart .. SecValidatedEnd
  std::uint64_t igvm_param_base = 0x81'2000;          // PcdOvmfIgvmParamBase; 0: none
};

struct OvmfPei {
  std::vector<ModelRange> system_ram;  // the RAM OVMF found
  bool from_igvm_map = false;          // whether it came from the IGVM memory map
  unsigned pvalidate_calls = 0;
};

// SEC, then PEI's validation. Throws GuestError where OVMF terminates the guest.
OvmfPei ovmf_validate_ram(GuestSvsm& svsm, const OvmfBuild& build,
                          const std::vector<ModelRange>& e820);

}  // namespace cvtpm::snp::model
