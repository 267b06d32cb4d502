// What the native platform learns at entry, from either start it supports:
//  - PVH (QEMU -kernel): EAX = kEntryMagic | kPvh, EBX -> hvm_start_info (memory map, command
//    line);
//  - IGVM NATIVE VP context: EAX = kEntryMagic | kIgvmNative, ESI -> BootParams, whose
//    loader-filled parameter areas hold the vCPU count and the IGVM memory map.
// Everything is read through PhysicalMemory and validated (bounds, magic numbers, sorted and
// non-overlapping maps, the firmware region inside RAM) before use. Host-tested.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cvtpm/formats/boot/boot_params.h"

namespace cvtpm::fw::native {

// Guest-physical memory as the boot code sees it (identity-mapped in the firmware, a byte
// array in the tests). read() returns false for a range it cannot provide.
class PhysicalMemory {
 public:
  virtual bool read(std::uint64_t gpa, void* out, std::size_t length) const = 0;

 protected:
  ~PhysicalMemory() = default;
};

struct AddressRange {
  std::uint64_t start;
  std::uint64_t end;  // exclusive
};

// Deliberate faults for the fault tests (command line fault=...).
enum class FaultTest {
  kNone,
  kPageFault,      // fault=page: read an unmapped address
  kNullPointer,    // fault=null: read address 0
  kDivideError,    // fault=divide
  kInvalidOpcode,  // fault=ud
  kStackOverflow,  // fault=stack: unbounded recursion into the guard page
  kWriteToCode,    // fault=wx: write to the read-only code
  kStackSmash,     // fault=canary: overwrite a stack canary
  kAbort,          // fault=abort: call the C library abort()
};

enum class ConsoleLevel { kDefault, kError, kWarn, kInfo, kDebug };

struct BootInfo {
  static constexpr std::size_t kMaxRam = 32;
  static constexpr std::size_t kMaxReserved = 16;
  static constexpr std::size_t kCommandLineMax = 256;

  formats::boot::EntryPlatform platform = formats::boot::EntryPlatform::kPvh;
  std::uint16_t console_port = 0x3F8;
  std::uint32_t vcpu_count = 0;  // 0: not reported
  AddressRange ram[kMaxRam] = {};
  std::size_t ram_count = 0;
  // Pages the loader placed data in (boot parameters, parameter areas, the loaded image):
  // the page allocator must not hand them out.
  AddressRange reserved[kMaxReserved] = {};
  std::size_t reserved_count = 0;
  std::uint64_t rsdp = 0;
  char command_line[kCommandLineMax] = {};

  // Options (PVH command line, or BootParams flags and fields).
  bool self_test = false;
  // The vTPM's endorsement key: BootParams.ek_algorithm, or the PVH option ek=rsa2048|ecc-p256|
  // ecc-p384 (RSA-2048 by default, as cvtpm-igvmgen).
  formats::boot::EkAlgorithm ek_algorithm = formats::boot::EkAlgorithm::kRsa2048;
  FaultTest fault = FaultTest::kNone;
  ConsoleLevel log_level = ConsoleLevel::kDefault;
  // Persistence (docs/persistence.md), PVH options "state" and "devkey=<64 hex digits>": the
  // sealed TPM state on the state link (COM3), sealed with the INSECURE development key (the
  // published default, or the one given). A malformed devkey= sets dev_key_invalid: the boot
  // then refuses to start a persistent TPM rather than fall back to the default key.
  bool persistent_state = false;
  bool dev_key_given = false;
  bool dev_key_invalid = false;
  std::uint8_t dev_key[32] = {};
  char unknown_option[48] = {};  // the first option the parser did not recognise

  bool test_mode() const { return self_test || fault != FaultTest::kNone; }
};

struct BootError {
  char message[160] = {};
};

// Decodes the entry registers and the structures they point to. On failure fills `error` with
// one line naming the structure and what is wrong.
bool read_boot_info(std::uint32_t entry_eax, std::uint64_t boot_params_gpa,
                    std::uint64_t start_info_gpa, const PhysicalMemory& memory, BootInfo& out,
                    BootError& error);

// The SNP start (EAX = kEntryMagic | kSnp): the same BootParams page and parameter areas as an
// IGVM native start, read by the SNP platform (read_boot_info refuses kSnp: the native platform
// cannot run it).
bool read_snp_boot_info(std::uint64_t boot_params_gpa, const PhysicalMemory& memory, BootInfo& out,
                        BootError& error);

// The console port to use before the full parse (it reports parse errors): BootParams'
// debug_serial_port for IGVM starts when the page looks valid, else COM1.
std::uint16_t early_console_port(std::uint32_t entry_eax, std::uint64_t boot_params_gpa,
                                 const PhysicalMemory& memory);

// Applies PVH command-line options ("selftest", "loglevel=...", "fault=...", "ek=...", "state",
// "devkey=...") to `out`.
void parse_command_line(const char* text, BootInfo& out);

// True if [start, end) lies inside one RAM range.
bool ram_contains(const BootInfo& info, std::uint64_t start, std::uint64_t end);

}  // namespace cvtpm::fw::native
