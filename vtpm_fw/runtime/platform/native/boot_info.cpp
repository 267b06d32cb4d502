#include "platform/native/boot_info.h"

#include "cvtpm/formats/igvm/igvm_defs.h"
#include "libc/shim.h"
#include "platform/native/pvh_start_info.h"

namespace cvtpm::fw::native {

namespace boot = formats::boot;
namespace igvm = formats::igvm;

namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::size_t kMaxPvhMemmapEntries = 128;
constexpr std::uint64_t kMaxMemoryMapBytes = 64 * 1024;
constexpr std::uint32_t kMaxVcpus = 4096;

bool fail(BootError& error, const char* format, ...) __attribute__((format(printf, 2, 3)));
bool fail(BootError& error, const char* format, ...) {
  std::va_list args;
  va_start(args, format);
  libc::vsnprintf(error.message, sizeof error.message, format, args, nullptr);
  va_end(args);
  return false;
}

bool add_ram(BootInfo& out, std::uint64_t start, std::uint64_t size, BootError& error,
             const char* source) {
  if (size == 0) return true;
  if (start + size < start) {
    return fail(error, "%s: RAM range at 0x%lx of 0x%lx bytes wraps around", source,
                static_cast<unsigned long>(start), static_cast<unsigned long>(size));
  }
  if (out.ram_count == BootInfo::kMaxRam) {
    return fail(error, "%s: more than %zu RAM ranges", source, BootInfo::kMaxRam);
  }
  out.ram[out.ram_count++] = AddressRange{start, start + size};
  return true;
}

// Sorts the RAM ranges, rejects overlaps and merges touching ones.
bool normalize_ram(BootInfo& out, BootError& error, const char* source) {
  for (std::size_t i = 1; i < out.ram_count; ++i) {
    const AddressRange r = out.ram[i];
    std::size_t j = i;
    for (; j > 0 && out.ram[j - 1].start > r.start; --j) out.ram[j] = out.ram[j - 1];
    out.ram[j] = r;
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < out.ram_count; ++i) {
    if (kept > 0 && out.ram[i].start < out.ram[kept - 1].end) {
      return fail(error, "%s: RAM ranges overlap at 0x%lx", source,
                  static_cast<unsigned long>(out.ram[i].start));
    }
    if (kept > 0 && out.ram[i].start == out.ram[kept - 1].end) {
      out.ram[kept - 1].end = out.ram[i].end;
    } else {
      out.ram[kept++] = out.ram[i];
    }
  }
  out.ram_count = kept;
  if (kept == 0) return fail(error, "%s: the memory map has no RAM", source);
  return true;
}

void reserve(BootInfo& out, std::uint64_t start, std::uint64_t size) {
  if (start == 0 || size == 0 || out.reserved_count == BootInfo::kMaxReserved) return;
  const std::uint64_t first = start & ~(kPage - 1);
  const std::uint64_t end = start + size < start ? ~std::uint64_t{0} & ~(kPage - 1)
                                                 : (start + size + kPage - 1) & ~(kPage - 1);
  out.reserved[out.reserved_count++] = AddressRange{first, end};
}

bool read_pvh(std::uint64_t start_info_gpa, const PhysicalMemory& memory, BootInfo& out,
              BootError& error) {
  if (start_info_gpa == 0) return fail(error, "PVH entry: EBX (hvm_start_info) is 0");
  pvh::StartInfo info{};
  if (!memory.read(start_info_gpa, &info, pvh::kStartInfoV0Size)) {
    return fail(error, "hvm_start_info at 0x%lx: not readable",
                static_cast<unsigned long>(start_info_gpa));
  }
  if (info.magic != pvh::kStartInfoMagic) {
    return fail(error, "hvm_start_info at 0x%lx: magic 0x%x, expected 0x%x",
                static_cast<unsigned long>(start_info_gpa), info.magic, pvh::kStartInfoMagic);
  }
  if (info.version < 1) {
    return fail(error, "hvm_start_info version %u has no memory map (need version 1)",
                info.version);
  }
  if (!memory.read(start_info_gpa, &info, sizeof info)) {
    return fail(error, "hvm_start_info at 0x%lx: version 1 fields not readable",
                static_cast<unsigned long>(start_info_gpa));
  }
  if (info.memmap_entries == 0 || info.memmap_entries > kMaxPvhMemmapEntries) {
    return fail(error, "hvm_start_info: %u memory map entries (expected 1..%zu)",
                info.memmap_entries, kMaxPvhMemmapEntries);
  }
  for (std::uint32_t i = 0; i < info.memmap_entries; ++i) {
    pvh::MemmapEntry entry{};
    if (!memory.read(info.memmap_paddr + i * sizeof entry, &entry, sizeof entry)) {
      return fail(error, "hvm_start_info memory map entry %u at 0x%lx: not readable", i,
                  static_cast<unsigned long>(info.memmap_paddr + i * sizeof entry));
    }
    if (entry.type == pvh::kMemmapTypeRam &&
        !add_ram(out, entry.addr, entry.size, error, "hvm_start_info memory map")) {
      return false;
    }
  }
  if (!normalize_ram(out, error, "hvm_start_info memory map")) return false;
  out.rsdp = info.rsdp_paddr;
  out.console_port = 0x3F8;

  if (info.cmdline_paddr != 0) {
    std::size_t length = 0;
    while (length + 1 < BootInfo::kCommandLineMax) {
      char c = 0;
      if (!memory.read(info.cmdline_paddr + length, &c, 1)) {
        return fail(error, "PVH command line at 0x%lx: not readable",
                    static_cast<unsigned long>(info.cmdline_paddr + length));
      }
      if (c == '\0') break;
      out.command_line[length++] = c;
    }
    out.command_line[length] = '\0';
    parse_command_line(out.command_line, out);
  }
  return true;
}

bool read_igvm_native(std::uint64_t boot_params_gpa, const PhysicalMemory& memory, BootInfo& out,
                      BootError& error) {
  if (boot_params_gpa == 0 || boot_params_gpa % kPage != 0) {
    return fail(error, "IGVM entry: ESI (BootParams) 0x%lx is not a page address",
                static_cast<unsigned long>(boot_params_gpa));
  }
  boot::BootParams params{};
  constexpr std::size_t kRequired = offsetof(boot::BootParams, guest);
  if (!memory.read(boot_params_gpa, &params, kRequired)) {
    return fail(error, "BootParams at 0x%lx: not readable",
                static_cast<unsigned long>(boot_params_gpa));
  }
  if (params.magic != boot::kBootParamsMagic || params.version != boot::kBootParamsVersion) {
    return fail(error, "BootParams at 0x%lx: magic 0x%x version %u, expected 0x%x version %u",
                static_cast<unsigned long>(boot_params_gpa), params.magic, params.version,
                boot::kBootParamsMagic, boot::kBootParamsVersion);
  }
  if (params.size < kRequired || params.size > kPage) {
    return fail(error, "BootParams: size %u outside %zu..%lu", params.size, kRequired,
                static_cast<unsigned long>(kPage));
  }
  const std::size_t readable = params.size < sizeof params ? params.size : sizeof params;
  if (!memory.read(boot_params_gpa, &params, readable)) {
    return fail(error, "BootParams: %zu bytes not readable", readable);
  }
  if (params.firmware.gpa != boot::kFirmwareBase ||
      params.firmware.size != boot::kFirmwareRegionSize) {
    return fail(error,
                "BootParams: firmware region 0x%lx+0x%lx, this image is linked for 0x%lx+0x%lx",
                static_cast<unsigned long>(params.firmware.gpa),
                static_cast<unsigned long>(params.firmware.size),
                static_cast<unsigned long>(boot::kFirmwareBase),
                static_cast<unsigned long>(boot::kFirmwareRegionSize));
  }
  out.console_port = params.debug_serial_port;
  if (params.ek_algorithm > static_cast<std::uint8_t>(boot::EkAlgorithm::kEccP384)) {
    return fail(error,
                "BootParams: ek_algorithm %u is none of 0 (RSA-2048), 1 (ECC P-256), 2 (ECC P-384)",
                params.ek_algorithm);
  }
  out.ek_algorithm = static_cast<boot::EkAlgorithm>(params.ek_algorithm);
  out.self_test = (params.flags & boot::boot_flags::kSelfTest) != 0;
  if ((params.flags & boot::boot_flags::kDebugLog) != 0) out.log_level = ConsoleLevel::kDebug;

  if (params.vp_count_gpa != 0) {
    std::uint32_t count = 0;
    if (!memory.read(params.vp_count_gpa, &count, sizeof count)) {
      return fail(error, "BootParams: vCPU count at 0x%lx not readable",
                  static_cast<unsigned long>(params.vp_count_gpa));
    }
    if (count == 0 || count > kMaxVcpus) {
      return fail(error, "BootParams: vCPU count %u outside 1..%u", count, kMaxVcpus);
    }
    out.vcpu_count = count;
  }

  if (params.memory_map_gpa == 0 || params.memory_map_size < sizeof(igvm::MemoryMapEntry) ||
      params.memory_map_size > kMaxMemoryMapBytes) {
    return fail(error, "BootParams: memory map at 0x%lx of %lu bytes (need 24..%lu bytes)",
                static_cast<unsigned long>(params.memory_map_gpa),
                static_cast<unsigned long>(params.memory_map_size),
                static_cast<unsigned long>(kMaxMemoryMapBytes));
  }
  const std::size_t capacity = params.memory_map_size / sizeof(igvm::MemoryMapEntry);
  std::uint64_t previous_end = 0;
  std::size_t i = 0;
  for (; i < capacity; ++i) {
    igvm::MemoryMapEntry entry{};
    const std::uint64_t at = params.memory_map_gpa + i * sizeof entry;
    if (!memory.read(at, &entry, sizeof entry)) {
      return fail(error, "IGVM memory map entry %zu at 0x%lx: not readable", i,
                  static_cast<unsigned long>(at));
    }
    if (entry.number_of_pages == 0) break;  // terminator
    const std::uint64_t max_page = ~std::uint64_t{0} / kPage;
    if (entry.starting_gpa_page_number > max_page ||
        entry.number_of_pages > max_page - entry.starting_gpa_page_number) {
      return fail(error, "IGVM memory map entry %zu: pages 0x%lx+0x%lx overflow", i,
                  static_cast<unsigned long>(entry.starting_gpa_page_number),
                  static_cast<unsigned long>(entry.number_of_pages));
    }
    const std::uint64_t start = entry.starting_gpa_page_number * kPage;
    if (i > 0 && start < previous_end) {
      return fail(error, "IGVM memory map entry %zu at 0x%lx: not sorted or overlapping", i,
                  static_cast<unsigned long>(start));
    }
    previous_end = start + entry.number_of_pages * kPage;
    if (entry.entry_type == static_cast<std::uint16_t>(igvm::MemoryMapEntryType::kMemory) &&
        !add_ram(out, start, entry.number_of_pages * kPage, error, "IGVM memory map")) {
      return false;
    }
  }
  if (i == 0) return fail(error, "IGVM memory map: empty");
  if (!normalize_ram(out, error, "IGVM memory map")) return false;

  // Loader-written pages inside the firmware region stay out of the page allocator.
  reserve(out, boot_params_gpa, kPage);
  reserve(out, params.vp_count_gpa, sizeof(std::uint32_t));
  reserve(out, params.environment_gpa, sizeof(std::uint32_t));
  reserve(out, params.memory_map_gpa, params.memory_map_size);
  reserve(out, params.secrets_gpa, kPage);
  reserve(out, params.cpuid_gpa, kPage);
  if (params.size >= offsetof(boot::BootParams, image) + sizeof params.image) {
    reserve(out, params.image.gpa, params.image.size);
  }
  return true;
}

bool equals(const char* a, const char* b, std::size_t length) {
  return libc::strlen(b) == length && libc::strncmp(a, b, length) == 0;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Exactly 64 hex digits into 32 bytes; `out` is zeroed when the text is anything else.
bool parse_hex_key(const char* text, std::size_t length, std::uint8_t (&out)[32]) {
  bool ok = length == 2 * sizeof out;
  for (std::size_t i = 0; ok && i < sizeof out; ++i) {
    const int high = hex_digit(text[2 * i]);
    const int low = hex_digit(text[2 * i + 1]);
    ok = high >= 0 && low >= 0;
    out[i] = ok ? static_cast<std::uint8_t>(high << 4 | low) : 0;
  }
  if (!ok) libc::memset(out, 0, sizeof out);
  return ok;
}

}  // namespace

void parse_command_line(const char* text, BootInfo& out) {
  static constexpr struct {
    const char* name;
    FaultTest fault;
  } kFaults[] = {
      {"page", FaultTest::kPageFault},      {"null", FaultTest::kNullPointer},
      {"divide", FaultTest::kDivideError},  {"ud", FaultTest::kInvalidOpcode},
      {"stack", FaultTest::kStackOverflow}, {"wx", FaultTest::kWriteToCode},
      {"canary", FaultTest::kStackSmash},   {"abort", FaultTest::kAbort},
  };
  static constexpr struct {
    const char* name;
    ConsoleLevel level;
  } kLevels[] = {{"error", ConsoleLevel::kError},
                 {"warn", ConsoleLevel::kWarn},
                 {"info", ConsoleLevel::kInfo},
                 {"debug", ConsoleLevel::kDebug}};
  static constexpr struct {
    const char* name;
    boot::EkAlgorithm algorithm;
  } kEks[] = {{"rsa2048", boot::EkAlgorithm::kRsa2048},
              {"ecc-p256", boot::EkAlgorithm::kEccP256},
              {"ecc-p384", boot::EkAlgorithm::kEccP384}};

  const char* p = text;
  while (*p != '\0') {
    while (*p == ' ' || *p == '\t') ++p;
    if (*p == '\0') break;
    const char* token = p;
    while (*p != '\0' && *p != ' ' && *p != '\t') ++p;
    const std::size_t length = static_cast<std::size_t>(p - token);
    const char* equal = static_cast<const char*>(libc::memchr(token, '=', length));
    bool known = false;
    if (equal == nullptr) {
      if (equals(token, "selftest", length)) known = out.self_test = true;
      if (equals(token, "state", length)) known = out.persistent_state = true;
    } else {
      const std::size_t key_length = static_cast<std::size_t>(equal - token);
      const char* value = equal + 1;
      const std::size_t value_length = length - key_length - 1;
      if (equals(token, "fault", key_length)) {
        for (const auto& f : kFaults) {
          if (equals(value, f.name, value_length)) {
            out.fault = f.fault;
            known = true;
          }
        }
      } else if (equals(token, "loglevel", key_length)) {
        for (const auto& l : kLevels) {
          if (equals(value, l.name, value_length)) {
            out.log_level = l.level;
            known = true;
          }
        }
      } else if (equals(token, "devkey", key_length)) {
        known = true;
        out.dev_key_given = true;
        out.dev_key_invalid = !parse_hex_key(value, value_length, out.dev_key);
      } else if (equals(token, "ek", key_length)) {
        for (const auto& e : kEks) {
          if (equals(value, e.name, value_length)) {
            out.ek_algorithm = e.algorithm;
            known = true;
          }
        }
      }
    }
    if (!known && out.unknown_option[0] == '\0') {
      const std::size_t n =
          length < sizeof out.unknown_option - 1 ? length : sizeof out.unknown_option - 1;
      libc::memcpy(out.unknown_option, token, n);
      out.unknown_option[n] = '\0';
    }
  }
}

bool ram_contains(const BootInfo& info, std::uint64_t start, std::uint64_t end) {
  for (std::size_t i = 0; i < info.ram_count; ++i) {
    if (start >= info.ram[i].start && end <= info.ram[i].end) return true;
  }
  return false;
}

std::uint16_t early_console_port(std::uint32_t entry_eax, std::uint64_t boot_params_gpa,
                                 const PhysicalMemory& memory) {
  const auto platform = static_cast<boot::EntryPlatform>(entry_eax & boot::kEntryPlatformMask);
  if ((entry_eax & ~boot::kEntryPlatformMask) == boot::kEntryMagic &&
      platform != boot::EntryPlatform::kPvh && boot_params_gpa != 0) {
    boot::BootParams params{};
    if (memory.read(boot_params_gpa, &params, offsetof(boot::BootParams, guest)) &&
        params.magic == boot::kBootParamsMagic) {
      return params.debug_serial_port;
    }
  }
  return 0x3F8;
}

static bool check_firmware_region_is_ram(const BootInfo& out, BootError& error) {
  if (!ram_contains(out, boot::kFirmwareBase, boot::kFirmwareBase + boot::kFirmwareRegionSize)) {
    return fail(error, "memory map: the firmware region 0x%lx+0x%lx is not RAM (guest too small?)",
                static_cast<unsigned long>(boot::kFirmwareBase),
                static_cast<unsigned long>(boot::kFirmwareRegionSize));
  }
  return true;
}

bool read_boot_info(std::uint32_t entry_eax, std::uint64_t boot_params_gpa,
                    std::uint64_t start_info_gpa, const PhysicalMemory& memory, BootInfo& out,
                    BootError& error) {
  out = BootInfo{};
  if ((entry_eax & ~boot::kEntryPlatformMask) != boot::kEntryMagic) {
    return fail(error,
                "entry: EAX 0x%x lacks the entry magic 0x%x (not started per the boot contract)",
                entry_eax, boot::kEntryMagic);
  }
  out.platform = static_cast<boot::EntryPlatform>(entry_eax & boot::kEntryPlatformMask);
  bool ok = false;
  switch (out.platform) {
    case boot::EntryPlatform::kPvh:
      ok = read_pvh(start_info_gpa, memory, out, error);
      break;
    case boot::EntryPlatform::kIgvmNative:
      ok = read_igvm_native(boot_params_gpa, memory, out, error);
      break;
    case boot::EntryPlatform::kSnp:
      // main() sends an SNP entry to the SNP platform (read_snp_boot_info); reaching here means the
      // entry word and the platform the firmware chose disagree.
      return fail(error, "entry: platform SNP (3) must be started through the SNP platform");
    default:
      return fail(error, "entry: unknown platform %u", entry_eax & boot::kEntryPlatformMask);
  }
  if (!ok) return false;
  return check_firmware_region_is_ram(out, error);
}

bool read_snp_boot_info(std::uint64_t boot_params_gpa, const PhysicalMemory& memory, BootInfo& out,
                        BootError& error) {
  out = BootInfo{};
  out.platform = boot::EntryPlatform::kSnp;
  // The same BootParams page and parameter areas as an IGVM native start.
  if (!read_igvm_native(boot_params_gpa, memory, out, error)) return false;
  return check_firmware_region_is_ram(out, error);
}

}  // namespace cvtpm::fw::native
