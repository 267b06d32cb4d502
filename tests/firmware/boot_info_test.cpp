// Boot information from both native starts — PVH (hvm_start_info, its memory map and command
// line) and the IGVM NATIVE VP context (BootParams and the loader-filled VP count and memory
// map) — and every malformation with its message. Physical memory is a sparse byte map.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "cvtpm/formats/boot/boot_params.h"
#include "cvtpm/formats/igvm/igvm_defs.h"
#include "platform/native/boot_info.h"
#include "platform/native/pvh_start_info.h"

namespace cvtpm::fw::native {
namespace {

namespace boot = formats::boot;
namespace igvm = formats::igvm;

constexpr std::uint32_t kPvhEntry = boot::kEntryMagic | 1;
constexpr std::uint32_t kIgvmEntry = boot::kEntryMagic | 2;
constexpr std::uint64_t kMiB = 1024 * 1024;

class FakeMemory final : public PhysicalMemory {
 public:
  bool read(std::uint64_t gpa, void* out, std::size_t length) const override {
    auto* bytes = static_cast<std::uint8_t*>(out);
    for (std::size_t i = 0; i < length; ++i) {
      auto it = bytes_.find(gpa + i);
      if (it == bytes_.end()) return false;
      bytes[i] = it->second;
    }
    return true;
  }
  template <typename T>
  void put(std::uint64_t gpa, const T& value) {
    put_bytes(gpa, &value, sizeof value);
  }
  void put_bytes(std::uint64_t gpa, const void* data, std::size_t length) {
    const auto* b = static_cast<const std::uint8_t*>(data);
    for (std::size_t i = 0; i < length; ++i) bytes_[gpa + i] = b[i];
  }

 private:
  std::map<std::uint64_t, std::uint8_t> bytes_;
};

// ---------------------------------------------------------------------------------------------
// PVH

class PvhBootTest : public ::testing::Test {
 protected:
  static constexpr std::uint64_t kStartInfo = 0x5000;
  static constexpr std::uint64_t kMemmap = 0x5100;
  static constexpr std::uint64_t kCmdline = 0x5400;

  void SetUp() override {
    // What QEMU gives a -m 256M q35 guest: low RAM, a reserved hole, RAM from 1 MiB.
    entries = {{0, 0x9fc00, pvh::kMemmapTypeRam, 0},
               {0x9fc00, 0x400, 2, 0},
               {0xf0000, 0x10000, 2, 0},
               {0x100000, 256 * kMiB - 0x100000, pvh::kMemmapTypeRam, 0},
               {0xfeffc000, 0x4000, 2, 0}};
    command_line = "selftest loglevel=debug";
  }

  void write() {
    pvh::StartInfo start{};
    start.magic = magic;
    start.version = version;
    start.cmdline_paddr = command_line.empty() ? 0 : kCmdline;
    start.rsdp_paddr = 0xf5a40;
    start.memmap_paddr = kMemmap;
    start.memmap_entries = static_cast<std::uint32_t>(entries.size());
    memory.put(kStartInfo, start);
    memory.put_bytes(kMemmap, entries.data(), entries.size() * sizeof(pvh::MemmapEntry));
    memory.put_bytes(kCmdline, command_line.c_str(), command_line.size() + 1);
  }

  bool parse() {
    write();
    return read_boot_info(kPvhEntry, 0, kStartInfo, memory, info, error);
  }

  std::vector<pvh::MemmapEntry> entries;
  std::string command_line;
  std::uint32_t magic = pvh::kStartInfoMagic;
  std::uint32_t version = 1;
  FakeMemory memory;
  BootInfo info;
  BootError error;
};

TEST_F(PvhBootTest, ReadsMemoryMapAndOptions) {
  ASSERT_TRUE(parse()) << error.message;
  EXPECT_EQ(info.platform, boot::EntryPlatform::kPvh);
  EXPECT_EQ(info.console_port, 0x3F8);
  ASSERT_EQ(info.ram_count, 2u);
  EXPECT_EQ(info.ram[0].start, 0u);
  EXPECT_EQ(info.ram[0].end, 0x9fc00u);
  EXPECT_EQ(info.ram[1].start, 0x100000u);
  EXPECT_EQ(info.ram[1].end, 256 * kMiB);
  EXPECT_EQ(info.rsdp, 0xf5a40u);
  EXPECT_STREQ(info.command_line, "selftest loglevel=debug");
  EXPECT_TRUE(info.self_test);
  EXPECT_EQ(info.log_level, ConsoleLevel::kDebug);
  EXPECT_EQ(info.fault, FaultTest::kNone);
  EXPECT_TRUE(info.test_mode());
  EXPECT_EQ(info.reserved_count, 0u);
  EXPECT_TRUE(
      ram_contains(info, boot::kFirmwareBase, boot::kFirmwareBase + boot::kFirmwareRegionSize));
  EXPECT_FALSE(ram_contains(info, 0x9f000, 0x101000));
}

TEST_F(PvhBootTest, SortsAndMergesRam) {
  entries = {{0x200000, 0x100000, 1, 0},
             {0x100000, 0x100000, 1, 0},
             {0, 0x80000, 1, 0},
             {0x300000, 512 * kMiB, 1, 0}};
  ASSERT_TRUE(parse()) << error.message;
  ASSERT_EQ(info.ram_count, 2u);
  EXPECT_EQ(info.ram[0].end, 0x80000u);
  EXPECT_EQ(info.ram[1].start, 0x100000u);
  EXPECT_EQ(info.ram[1].end, 0x300000 + 512 * kMiB);
}

TEST_F(PvhBootTest, NoCommandLineMeansDefaults) {
  command_line.clear();
  ASSERT_TRUE(parse()) << error.message;
  EXPECT_FALSE(info.test_mode());
  EXPECT_EQ(info.log_level, ConsoleLevel::kDefault);
  EXPECT_STREQ(info.command_line, "");
}

TEST_F(PvhBootTest, FaultOptionsAndUnknownOptions) {
  const std::pair<const char*, FaultTest> cases[] = {
      {"fault=page", FaultTest::kPageFault},      {"fault=null", FaultTest::kNullPointer},
      {"fault=divide", FaultTest::kDivideError},  {"fault=ud", FaultTest::kInvalidOpcode},
      {"fault=stack", FaultTest::kStackOverflow}, {"fault=wx", FaultTest::kWriteToCode},
      {"fault=canary", FaultTest::kStackSmash},   {"fault=abort", FaultTest::kAbort}};
  for (const auto& [text, fault] : cases) {
    command_line = text;
    ASSERT_TRUE(parse()) << error.message;
    EXPECT_EQ(info.fault, fault) << text;
    EXPECT_TRUE(info.test_mode());
    EXPECT_STREQ(info.unknown_option, "");
  }
  command_line = "  fault=sideways   loglevel=warn  bogus selftest=1 ";
  ASSERT_TRUE(parse()) << error.message;
  EXPECT_EQ(info.fault, FaultTest::kNone);
  EXPECT_EQ(info.log_level, ConsoleLevel::kWarn);
  EXPECT_FALSE(info.self_test);
  EXPECT_STREQ(info.unknown_option, "fault=sideways");
}

TEST_F(PvhBootTest, EkOptionChoosesTheEndorsementKey) {
  command_line.clear();
  ASSERT_TRUE(parse()) << error.message;
  EXPECT_EQ(info.ek_algorithm, boot::EkAlgorithm::kRsa2048);  // the default, as cvtpm-igvmgen
  const std::pair<const char*, boot::EkAlgorithm> cases[] = {
      {"ek=rsa2048", boot::EkAlgorithm::kRsa2048},
      {"ek=ecc-p256", boot::EkAlgorithm::kEccP256},
      {"selftest ek=ecc-p384", boot::EkAlgorithm::kEccP384}};
  for (const auto& [text, algorithm] : cases) {
    command_line = text;
    ASSERT_TRUE(parse()) << error.message;
    EXPECT_EQ(info.ek_algorithm, algorithm) << text;
    EXPECT_STREQ(info.unknown_option, "");
  }
  command_line = "ek=ecc-p521 ek=ecc";
  ASSERT_TRUE(parse()) << error.message;
  EXPECT_EQ(info.ek_algorithm, boot::EkAlgorithm::kRsa2048);
  EXPECT_STREQ(info.unknown_option, "ek=ecc-p521");
}

TEST_F(PvhBootTest, LongCommandLineIsCutNotOverrun) {
  command_line = "selftest " + std::string(1000, 'x');
  ASSERT_TRUE(parse()) << error.message;
  EXPECT_EQ(std::strlen(info.command_line), BootInfo::kCommandLineMax - 1);
  EXPECT_TRUE(info.self_test);
}

TEST_F(PvhBootTest, Malformations) {
  magic = 0x12345678;
  EXPECT_FALSE(parse());
  EXPECT_STREQ(error.message, "hvm_start_info at 0x5000: magic 0x12345678, expected 0x336ec578");
  magic = pvh::kStartInfoMagic;

  version = 0;
  EXPECT_FALSE(parse());
  EXPECT_STREQ(error.message, "hvm_start_info version 0 has no memory map (need version 1)");
  version = 1;

  auto saved = entries;
  entries.clear();
  EXPECT_FALSE(parse());
  EXPECT_STREQ(error.message, "hvm_start_info: 0 memory map entries (expected 1..128)");
  entries.assign(129, pvh::MemmapEntry{0, 4096, 1, 0});
  EXPECT_FALSE(parse());
  EXPECT_STREQ(error.message, "hvm_start_info: 129 memory map entries (expected 1..128)");

  entries = {{0, 0x200000, 1, 0}, {0x100000, 512 * kMiB, 1, 0}};
  EXPECT_FALSE(parse());
  EXPECT_STREQ(error.message, "hvm_start_info memory map: RAM ranges overlap at 0x100000");

  entries = {{0x1000, ~std::uint64_t{0}, 1, 0}};
  EXPECT_FALSE(parse());
  EXPECT_STREQ(
      error.message,
      "hvm_start_info memory map: RAM range at 0x1000 of 0xffffffffffffffff bytes wraps around");

  entries = {{0x100000, 0x100000, 2, 0}};
  EXPECT_FALSE(parse());
  EXPECT_STREQ(error.message, "hvm_start_info memory map: the memory map has no RAM");

  // A 128 MiB guest cannot hold the firmware region at 128 MiB.
  entries = {{0, 0x9fc00, 1, 0}, {0x100000, 127 * kMiB, 1, 0}};
  EXPECT_FALSE(parse());
  EXPECT_STREQ(error.message,
               "memory map: the firmware region 0x8000000+0x2000000 is not RAM (guest too small?)");
  entries = saved;

  write();
  EXPECT_FALSE(read_boot_info(kPvhEntry, 0, 0, memory, info, error));
  EXPECT_STREQ(error.message, "PVH entry: EBX (hvm_start_info) is 0");
  EXPECT_FALSE(read_boot_info(kPvhEntry, 0, 0x99000, memory, info, error));
  EXPECT_STREQ(error.message, "hvm_start_info at 0x99000: not readable");

  // The memory map points at memory that does not exist.
  pvh::StartInfo bad{};
  bad.magic = pvh::kStartInfoMagic;
  bad.version = 1;
  bad.memmap_paddr = 0x7700000;
  bad.memmap_entries = 1;
  memory.put(0x6000, bad);
  EXPECT_FALSE(read_boot_info(kPvhEntry, 0, 0x6000, memory, info, error));
  EXPECT_STREQ(error.message, "hvm_start_info memory map entry 0 at 0x7700000: not readable");
}

TEST_F(PvhBootTest, EntryWordIsChecked) {
  write();
  EXPECT_FALSE(read_boot_info(0x2BADB002, 0, kStartInfo, memory, info, error));
  EXPECT_STREQ(
      error.message,
      "entry: EAX 0x2badb002 lacks the entry magic 0xc7b00000 (not started per the boot contract)");
  EXPECT_FALSE(read_boot_info(boot::kEntryMagic | 3, 0, kStartInfo, memory, info, error));
  EXPECT_STREQ(error.message, "entry: platform SNP (3) must be started through the SNP platform");
  EXPECT_FALSE(read_boot_info(boot::kEntryMagic | 9, 0, kStartInfo, memory, info, error));
  EXPECT_STREQ(error.message, "entry: unknown platform 9");
  EXPECT_EQ(early_console_port(kPvhEntry, 0, memory), 0x3F8);
}

// ---------------------------------------------------------------------------------------------
// IGVM NATIVE VP context

class IgvmBootTest : public ::testing::Test {
 public:
  // Boot pages right after a 4 MiB image, as cvtpm-igvmgen lays them out (any layout works).
  static constexpr std::uint64_t kParams = boot::kFirmwareBase + 4 * kMiB;
  static constexpr std::uint64_t kVpCount = kParams + 0x1000;
  static constexpr std::uint64_t kMemoryMap = kParams + 0x2000;

  void SetUp() override {
    params = boot::BootParams{};
    vcpus = 3;
    params.magic = boot::kBootParamsMagic;
    params.version = boot::kBootParamsVersion;
    params.size = sizeof params;
    params.flags = boot::boot_flags::kSelfTest;
    params.firmware = {boot::kFirmwareBase, boot::kFirmwareRegionSize};
    params.vp_count_gpa = kVpCount;
    params.environment_gpa = kVpCount + 4;
    params.memory_map_gpa = kMemoryMap;
    params.memory_map_size = 0x1000;
    params.debug_serial_port = 0x2F8;
    params.image = {boot::kFirmwareBase, 4 * kMiB + 0x3000};
    map = {{0, 0x9f, 0, 0, 0}, {0x100, (256 * kMiB - 0x100000) / 4096, 0, 0, 0}};
  }

  bool parse() {
    memory.put(kParams, params);
    memory.put(kVpCount, vcpus);
    std::vector<std::uint8_t> area(params.memory_map_size < 0x10000 ? params.memory_map_size : 0);
    const std::size_t n = std::min(area.size(), map.size() * sizeof(igvm::MemoryMapEntry));
    if (n > 0) std::memcpy(area.data(), map.data(), n);
    memory.put_bytes(kMemoryMap, area.data(), area.size());
    return read_boot_info(kIgvmEntry, kParams, 0, memory, info, error);
  }

  boot::BootParams params{};
  std::uint32_t vcpus = 3;
  std::vector<igvm::MemoryMapEntry> map;
  FakeMemory memory;
  BootInfo info;
  BootError error;
};

TEST_F(IgvmBootTest, ReadsParametersAndReservesLoaderPages) {
  ASSERT_TRUE(parse()) << error.message;
  EXPECT_EQ(info.platform, boot::EntryPlatform::kIgvmNative);
  EXPECT_EQ(info.console_port, 0x2F8);
  EXPECT_EQ(info.vcpu_count, 3u);
  EXPECT_TRUE(info.self_test);
  EXPECT_EQ(info.log_level, ConsoleLevel::kDefault);
  ASSERT_EQ(info.ram_count, 2u);
  EXPECT_EQ(info.ram[0].end, 0x9f000u);
  EXPECT_EQ(info.ram[1].start, 0x100000u);
  EXPECT_EQ(info.ram[1].end, 256 * kMiB);
  // BootParams page, VP count and environment (one page), memory map area, loaded image.
  auto reserved = [&](std::uint64_t start, std::uint64_t end) {
    for (std::size_t i = 0; i < info.reserved_count; ++i) {
      if (info.reserved[i].start == start && info.reserved[i].end == end) return true;
    }
    return false;
  };
  EXPECT_TRUE(reserved(kParams, kParams + 0x1000));
  EXPECT_TRUE(reserved(kVpCount, kVpCount + 0x1000));
  EXPECT_TRUE(reserved(kMemoryMap, kMemoryMap + 0x1000));
  EXPECT_TRUE(reserved(boot::kFirmwareBase, boot::kFirmwareBase + 4 * kMiB + 0x3000));
  EXPECT_EQ(early_console_port(kIgvmEntry, kParams, memory), 0x2F8);
}

TEST_F(IgvmBootTest, EkAlgorithmFromBootParams) {
  ASSERT_TRUE(parse()) << error.message;
  EXPECT_EQ(info.ek_algorithm, boot::EkAlgorithm::kRsa2048);
  params.ek_algorithm = 2;
  ASSERT_TRUE(parse()) << error.message;
  EXPECT_EQ(info.ek_algorithm, boot::EkAlgorithm::kEccP384);
  params.ek_algorithm = 3;
  EXPECT_FALSE(parse());
  EXPECT_STREQ(error.message,
               "BootParams: ek_algorithm 3 is none of 0 (RSA-2048), 1 (ECC P-256), 2 (ECC P-384)");
}

TEST_F(IgvmBootTest, DebugFlagAndAMapThatFillsItsArea) {
  params.flags = boot::boot_flags::kDebugLog;
  params.memory_map_size = 2 * sizeof(igvm::MemoryMapEntry);  // no room for a terminator
  ASSERT_TRUE(parse()) << error.message;
  EXPECT_FALSE(info.test_mode());
  EXPECT_EQ(info.log_level, ConsoleLevel::kDebug);
  EXPECT_EQ(info.ram_count, 2u);
}

TEST_F(IgvmBootTest, OlderSmallerBootParamsWithoutImageRange) {
  params.size = offsetof(boot::BootParams, image);
  ASSERT_TRUE(parse()) << error.message;
  for (std::size_t i = 0; i < info.reserved_count; ++i) {
    EXPECT_NE(info.reserved[i].start, boot::kFirmwareBase);
  }
}

TEST_F(IgvmBootTest, NonMemoryEntriesAreNotRam) {
  map.insert(map.begin() + 1, igvm::MemoryMapEntry{0xa0, 0x10, 1, 0, 0});  // platform reserved
  ASSERT_TRUE(parse()) << error.message;
  EXPECT_EQ(info.ram_count, 2u);
}

TEST_F(IgvmBootTest, Malformations) {
  struct Case {
    const char* name;
    void (*mutate)(IgvmBootTest&);
    const char* message;
  };
  const Case cases[] = {
      {"magic", [](IgvmBootTest& t) { t.params.magic = 0; },
       "BootParams at 0x8400000: magic 0x0 version 3, expected 0x42545643 version 3"},
      {"version", [](IgvmBootTest& t) { t.params.version = 1; },
       "BootParams at 0x8400000: magic 0x42545643 version 1, expected 0x42545643 version 3"},
      {"size", [](IgvmBootTest& t) { t.params.size = 16; }, "BootParams: size 16 outside 96..4096"},
      {"region", [](IgvmBootTest& t) { t.params.firmware.gpa = 0x1000000; },
       "BootParams: firmware region 0x1000000+0x2000000, this image is linked for "
       "0x8000000+0x2000000"},
      {"vcpus 0", [](IgvmBootTest& t) { t.vcpus = 0; }, "BootParams: vCPU count 0 outside 1..4096"},
      {"vcpus huge", [](IgvmBootTest& t) { t.vcpus = 100000; },
       "BootParams: vCPU count 100000 outside 1..4096"},
      {"no map", [](IgvmBootTest& t) { t.params.memory_map_gpa = 0; },
       "BootParams: memory map at 0x0 of 4096 bytes (need 24..65536 bytes)"},
      {"map too big", [](IgvmBootTest& t) { t.params.memory_map_size = 0x100000; },
       "BootParams: memory map at 0x8402000 of 1048576 bytes (need 24..65536 bytes)"},
      {"empty map", [](IgvmBootTest& t) { t.map.clear(); }, "IGVM memory map: empty"},
      {"unsorted", [](IgvmBootTest& t) { std::swap(t.map[0], t.map[1]); },
       "IGVM memory map entry 1 at 0x0: not sorted or overlapping"},
      {"overlap", [](IgvmBootTest& t) { t.map[1].starting_gpa_page_number = 0x50; },
       "IGVM memory map entry 1 at 0x50000: not sorted or overlapping"},
      {"overflow", [](IgvmBootTest& t) { t.map[1].number_of_pages = ~std::uint64_t{0}; },
       "IGVM memory map entry 1: pages 0x100+0xffffffffffffffff overflow"},
      {"small guest", [](IgvmBootTest& t) { t.map[1].number_of_pages = 100 * 256; },
       "memory map: the firmware region 0x8000000+0x2000000 is not RAM (guest too small?)"},
  };
  for (const Case& c : cases) {
    SetUp();
    c.mutate(*this);
    EXPECT_FALSE(parse()) << c.name;
    EXPECT_STREQ(error.message, c.message) << c.name;
  }
}

TEST_F(IgvmBootTest, UnreadableStructures) {
  ASSERT_TRUE(parse());
  EXPECT_FALSE(read_boot_info(kIgvmEntry, kParams + 0x10000, 0, memory, info, error));
  EXPECT_STREQ(error.message, "BootParams at 0x8410000: not readable");
  EXPECT_FALSE(read_boot_info(kIgvmEntry, kParams + 8, 0, memory, info, error));
  EXPECT_STREQ(error.message, "IGVM entry: ESI (BootParams) 0x8400008 is not a page address");
  EXPECT_FALSE(read_boot_info(kIgvmEntry, 0, 0, memory, info, error));
  EXPECT_STREQ(error.message, "IGVM entry: ESI (BootParams) 0x0 is not a page address");
  // The console port falls back to COM1 when the page is not a BootParams.
  EXPECT_EQ(early_console_port(kIgvmEntry, kParams + 0x10000, memory), 0x3F8);
}

}  // namespace
}  // namespace cvtpm::fw::native
