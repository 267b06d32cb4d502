// The native platform's vTPM glue on the host, with the hosted vTPM core and libtpms: the core's
// allocator on the firmware heap, the Platform over plain memory (what guest memory, PVALIDATE,
// vCPUs and attestation mean without SNP), and the transport handler that carries the serial
// link's TPM and swtpm control requests through SVSM_VTPM_CMD and SVSM_ATTEST_* exactly as a guest
// issues them — alone and behind the firmware's serial channel. Guest memory is a host buffer
// mapped at the GPAs the firmware uses (the pages below the firmware region).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "cvtpm/formats/boot/boot_params.h"
#include "cvtpm/formats/endian.h"
#include "cvtpm/formats/snp/attestation_report.h"
#include "cvtpm/support/digest.h"
#include "cvtpm/vtpm/dispatcher.h"
#include "cvtpm/vtpm/ek_template.h"
#include "cvtpm/vtpm/tpm_engine.h"
#include "fake_uart.h"
#include "mm/heap.h"
#include "mm/heap_allocator.h"
#include "platform/native/svsm_guest.h"
#include "platform/native/vtpm_platform.h"
#include "platform/native/vtpm_transport.h"
#include "transport/serial_channel.h"
#include "transport/serial_link.h"

namespace cvtpm::fw::native {
namespace {

using Bytes = std::vector<std::uint8_t>;
using formats::load_be;
namespace boot = formats::boot;
namespace swtpm = transport::swtpm;

constexpr std::uint64_t kFirmwareStart = boot::kFirmwareBase;
constexpr std::uint64_t kFirmwareEnd = boot::kFirmwareBase + boot::kFirmwareRegionSize;
constexpr std::uint64_t k4G = std::uint64_t{4} << 30;

const Bytes kStartup = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x01, 0x44, 0x00, 0x00};
const Bytes kGetRandom16 = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x01, 0x7b, 0x00, 0x10};

std::uint32_t rc_of(const Bytes& response) {
  return response.size() >= 10 ? load_be<std::uint32_t>(response.data() + 6) : 0xFFFFFFFF;
}

Bytes be32(std::uint32_t v) {
  Bytes b(4);
  formats::store_be<std::uint32_t>(b.data(), v);
  return b;
}

// Heap regions from host memory.
struct HostRegions {
  std::vector<std::unique_ptr<std::uint8_t[]>> blocks;
  static bool grow(void* context, std::size_t min_bytes, void** start, std::size_t* bytes) {
    auto* self = static_cast<HostRegions*>(context);
    const std::size_t size = std::max<std::size_t>(min_bytes + 64, 1 << 20);
    self->blocks.push_back(std::make_unique<std::uint8_t[]>(size + 16));
    auto address = reinterpret_cast<std::uintptr_t>(self->blocks.back().get());
    *start = reinterpret_cast<void*>((address + 15) & ~std::uintptr_t{15});
    *bytes = size;
    return true;
  }
  static void error(void*, const char* what, const void*) { FAIL() << "heap: " << what; }
};

// ---------------------------------------------------------------------------------------------
// HeapAllocator

TEST(HeapAllocator, HonoursEveryAlignmentUpToAPage) {
  HostRegions regions;
  mm::Heap heap;
  heap.init(HostRegions::grow, &regions, HostRegions::error, nullptr, 0x1234);
  mm::HeapAllocator allocator(heap);
  struct Block {
    void* p;
    std::size_t size, alignment;
  };
  std::vector<Block> blocks;
  for (std::size_t alignment = 1; alignment <= 4096; alignment *= 2) {
    for (std::size_t size : {1, 15, 16, 17, 100, 4096, 10000}) {
      void* p = allocator.allocate(size, alignment);
      ASSERT_NE(p, nullptr) << size << " aligned " << alignment;
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % alignment, 0u);
      std::memset(p, static_cast<int>(alignment & 0xFF), size);
      blocks.push_back({p, size, alignment});
    }
  }
  EXPECT_TRUE(heap.check());
  for (const Block& b : blocks) {
    const auto* bytes = static_cast<const std::uint8_t*>(b.p);
    EXPECT_TRUE(std::all_of(bytes, bytes + b.size,
                            [&](std::uint8_t v) { return v == (b.alignment & 0xFF); }));
  }
  std::reverse(blocks.begin(), blocks.end());
  for (const Block& b : blocks) allocator.deallocate(b.p, b.size, b.alignment);
  EXPECT_TRUE(heap.check());
  EXPECT_EQ(heap.stats().live_allocations, 0u);
  EXPECT_EQ(heap.stats().used_bytes, 0u);
}

TEST(HeapAllocator, RefusesWhatTheInterfaceExcludes) {
  HostRegions regions;
  mm::Heap heap;
  heap.init(HostRegions::grow, &regions, HostRegions::error, nullptr, 1);
  mm::HeapAllocator allocator(heap);
  EXPECT_EQ(allocator.allocate(0, 16), nullptr);
  EXPECT_EQ(allocator.allocate(16, 0), nullptr);
  EXPECT_EQ(allocator.allocate(16, 24), nullptr);
  EXPECT_EQ(allocator.allocate(16, 8192), nullptr);
  EXPECT_EQ(allocator.allocate(SIZE_MAX - 100, 4096), nullptr);
  EXPECT_EQ(heap.stats().live_allocations, 0u);
}

// ---------------------------------------------------------------------------------------------
// NativeVtpmPlatform

BootInfo pc_like_ram() {
  BootInfo info;
  info.ram[0] = {0x1000, 0x9F000};        // low RAM (page 0 left out on purpose too)
  info.ram[1] = {0x100000, 0x0F000000};   // 1 MiB .. 240 MiB, the firmware region inside
  info.ram[2] = {k4G, k4G + 0x10000000};  // above 4 GiB
  info.ram_count = 3;
  return info;
}

struct NullAllocator final : vtpm::Allocator {
  void* allocate(std::size_t, std::size_t) override { return nullptr; }
  void deallocate(void*, std::size_t, std::size_t) override {}
};

TEST(NativeVtpmPlatform, GuestMemoryIsRamOutsideTheFirmwareBelowTheIdentityLimit) {
  BootInfo info = pc_like_ram();
  info.ram[0].start = 0;  // even if the map says page 0 is RAM, it is never mapped
  NullAllocator allocator;
  NativeVtpmPlatform p({&info, kFirmwareStart, kFirmwareEnd, k4G, 0, 0x7FFA000}, allocator);
  EXPECT_TRUE(p.guest_owns(0x1000, 0x1000));
  EXPECT_TRUE(p.guest_owns(0x100000, 0x1000));
  EXPECT_TRUE(p.guest_owns(kFirmwareStart - 0x1000, 0x1000));  // right below the firmware
  EXPECT_TRUE(p.guest_owns(kFirmwareEnd, 0x1000));             // right above it
  EXPECT_TRUE(p.guest_owns(0x200000, 0x200000));
  EXPECT_FALSE(p.guest_owns(0, 0x1000)) << "page 0";
  EXPECT_FALSE(p.guest_owns(0xFFF, 2)) << "touches page 0";
  EXPECT_FALSE(p.guest_owns(kFirmwareStart, 1));
  EXPECT_FALSE(p.guest_owns(kFirmwareStart - 1, 2)) << "into the firmware";
  EXPECT_FALSE(p.guest_owns(kFirmwareEnd - 1, 2)) << "out of the firmware";
  EXPECT_FALSE(p.guest_owns(kFirmwareStart - 0x1000, boot::kFirmwareRegionSize + 0x2000))
      << "across the firmware";
  EXPECT_FALSE(p.guest_owns(0x9F000, 0x1000)) << "a hole in the map";
  EXPECT_FALSE(p.guest_owns(0x9E000, 0x2000)) << "into a hole";
  EXPECT_FALSE(p.guest_owns(0x0F000000, 0x1000)) << "beyond RAM";
  EXPECT_FALSE(p.guest_owns(k4G, 0x1000)) << "RAM above the identity-map limit";
  EXPECT_FALSE(p.guest_owns(0x100000, 0)) << "empty";
  EXPECT_FALSE(p.guest_owns(~std::uint64_t{0} - 10, 100)) << "wraps";

  NativeVtpmPlatform wide({&info, kFirmwareStart, kFirmwareEnd, k4G * 2, 0, 0x7FFA000}, allocator);
  EXPECT_TRUE(wide.guest_owns(k4G, 0x1000));
}

TEST(NativeVtpmPlatform, CopiesIdentityThroughTheWindowAndRefusesTheRest) {
  BootInfo info = pc_like_ram();
  NullAllocator allocator;
  std::vector<std::uint8_t> backing(0x2000);
  for (std::size_t i = 0; i < backing.size(); ++i) backing[i] = static_cast<std::uint8_t>(i);
  const std::uint64_t base = 0x7FFE000;
  const auto window = reinterpret_cast<std::uintptr_t>(backing.data()) - base;
  NativeVtpmPlatform p({&info, kFirmwareStart, kFirmwareEnd, k4G, window, base}, allocator);
  std::uint8_t read[8] = {};
  ASSERT_TRUE(p.read_guest(base + 0x10, read));
  EXPECT_EQ(read[0], 0x10);
  EXPECT_EQ(read[7], 0x17);
  const std::uint8_t written[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_TRUE(p.write_guest(base + 0x1FF8, written));
  EXPECT_EQ(backing[0x1FF8], 1);
  EXPECT_EQ(backing[0x1FFF], 8);
  std::uint8_t old = 0;
  ASSERT_TRUE(p.exchange_guest_byte(base + 0x20, 0xAB, old));
  EXPECT_EQ(old, 0x20);
  EXPECT_EQ(backing[0x20], 0xAB);
  EXPECT_FALSE(p.read_guest(kFirmwareStart, read));
  EXPECT_FALSE(p.write_guest(kFirmwareStart, written));
  EXPECT_FALSE(p.exchange_guest_byte(kFirmwareStart, 0, old));
  EXPECT_EQ(p.guest_pointer(base), backing.data());
}

TEST(NativeVtpmPlatform, OffersTheGuestAreaAsTheFixedWindowOnlyIfItIsGuestMemory) {
  BootInfo info = pc_like_ram();
  NullAllocator allocator;
  const GuestArea area = GuestArea::ending_at(kFirmwareStart);
  const std::uintptr_t window = 0x5000;
  NativeVtpmPlatform p({&info, kFirmwareStart, kFirmwareEnd, k4G, window, area.calling_area,
                        area.start(), area.end()},
                       allocator);
  const vtpm::GuestWindow w = p.fixed_guest_window();
  EXPECT_EQ(w.begin, area.start());
  EXPECT_EQ(w.end, area.end());
  EXPECT_EQ(w.base, window);

  // Not offered when any of it is not guest memory (here: the firmware region), or it is empty.
  NativeVtpmPlatform into_firmware({&info, kFirmwareStart, kFirmwareEnd, k4G, window,
                                    area.calling_area, area.start(), kFirmwareStart + 0x1000},
                                   allocator);
  EXPECT_EQ(into_firmware.fixed_guest_window().end, 0u);
  NativeVtpmPlatform none({&info, kFirmwareStart, kFirmwareEnd, k4G, window, area.calling_area},
                          allocator);
  EXPECT_EQ(none.fixed_guest_window().end, 0u);
}

TEST(NativeVtpmPlatform, WithoutSnpPagesAreAlwaysValidAndNoVmsaExists) {
  BootInfo info = pc_like_ram();
  NullAllocator allocator;
  NativeVtpmPlatform p({&info, kFirmwareStart, kFirmwareEnd, k4G, 0, 0x7FFA000}, allocator);
  EXPECT_EQ(p.pvalidate(0x200000, vtpm::PageSize::k4K, true), vtpm::PvalidateStatus::kNoChange);
  EXPECT_EQ(p.pvalidate(0x200000, vtpm::PageSize::k2M, true), vtpm::PvalidateStatus::kNoChange);
  EXPECT_EQ(p.pvalidate(0x200000, vtpm::PageSize::k4K, false), vtpm::PvalidateStatus::kFailInput);
  EXPECT_EQ(p.create_vcpu(0x200000, 0x201000, 1), vtpm::SvsmResult::kInvalidParameter);
  EXPECT_EQ(p.delete_vcpu(0x200000), vtpm::SvsmResult::kInvalidParameter);
  EXPECT_EQ(p.calling_area(), 0x7FFA000u);
  EXPECT_EQ(p.remap_ca(1, 0x300000), vtpm::SvsmResult::kInvalidParameter);
  EXPECT_EQ(p.calling_area(), 0x7FFA000u);
  EXPECT_EQ(p.remap_ca(0, 0x300000), vtpm::SvsmResult::kSuccess);
  EXPECT_EQ(p.calling_area(), 0x300000u);
}

TEST(NativeVtpmPlatform, AttestationReportIsUnsignedAndSaysSo) {
  BootInfo info = pc_like_ram();
  NullAllocator allocator;
  NativeVtpmPlatform p({&info, kFirmwareStart, kFirmwareEnd, k4G, 0, 0x7FFA000}, allocator);
  ASSERT_EQ(p.report_size(), 0x4A0u);
  EXPECT_EQ(p.certificates_size(), 0u);
  vtpm::ReportData data;
  for (std::size_t i = 0; i < sizeof data; ++i) data[i] = static_cast<std::uint8_t>(i * 3);
  Bytes report(0x4A0, 0xEE);
  ASSERT_EQ(p.attestation_report(data, report, {}), vtpm::SvsmResult::kSuccess);
  formats::snp::AttestationReport r;
  std::memcpy(&r, report.data(), sizeof r);
  EXPECT_EQ(r.version, 2u);
  EXPECT_EQ(r.vmpl, 0u);
  EXPECT_EQ(r.signature_algo, 0u) << "no signature algorithm: nothing signed it";
  EXPECT_EQ(Bytes(r.report_data, r.report_data + 64), Bytes(data, data + 64));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(r.host_data)), "cvtpm native: NOT ATTESTED");
  const auto* signature = reinterpret_cast<const std::uint8_t*>(&r.signature);
  EXPECT_TRUE(
      std::all_of(signature, signature + sizeof r.signature, [](auto b) { return b == 0; }));
  EXPECT_TRUE(std::all_of(r.measurement, r.measurement + 48, [](auto b) { return b == 0; }));

  Bytes small(0x49F);
  EXPECT_EQ(p.attestation_report(data, small, {}), vtpm::SvsmResult::kInvalidRequest);
  Bytes certificates(16);
  EXPECT_EQ(p.attestation_report(data, report, certificates), vtpm::SvsmResult::kInvalidRequest);
}

TEST(NativeVtpmPlatform, Sha512IsSha512) {
  BootInfo info = pc_like_ram();
  NullAllocator allocator;
  NativeVtpmPlatform p({&info, kFirmwareStart, kFirmwareEnd, k4G, 0, 0x7FFA000}, allocator);
  for (const Bytes& data : {Bytes{}, Bytes{'a', 'b', 'c'}, Bytes(1000, 0x5A)}) {
    vtpm::Sha512Digest digest;
    p.sha512(data, digest);
    const auto expected = cvtpm::sha512(data);
    EXPECT_EQ(Bytes(digest, digest + 64), Bytes(expected.begin(), expected.end()));
  }
}

// ---------------------------------------------------------------------------------------------
// The whole native service: platform, engine, dispatcher, guest and transport handler.

// Guest memory: host memory backing [kBackingStart, kFirmwareStart), the GuestArea pages below the
// firmware region included. Guest RAM per the memory map starts at `ram_start`.
struct StackOptions {
  vtpm::EkAlgorithm ek = vtpm::EkAlgorithm::kEccP256;
  GuestArea area = GuestArea::ending_at(kFirmwareStart);
  std::uint64_t ram_start = kFirmwareStart - 0x10000;
};

struct NativeStack {
  static constexpr std::uint64_t kBackingStart = kFirmwareStart - 0x10000;

  explicit NativeStack(const StackOptions& options = {})
      : backing(kFirmwareStart - kBackingStart), area(options.area) {
    info.ram[0] = {options.ram_start, kFirmwareEnd};
    info.ram_count = 1;
    heap.init(HostRegions::grow, &regions, HostRegions::error, nullptr, 0xC0FFEE);
    const auto window = reinterpret_cast<std::uintptr_t>(backing.data()) - kBackingStart;
    platform = std::make_unique<NativeVtpmPlatform>(
        NativePlatformConfig{&info, kFirmwareStart, kFirmwareEnd, k4G, window, area.calling_area,
                             area.start(), area.end()},
        allocator);
    engine = std::make_unique<vtpm::TpmEngine>(allocator);
    const vtpm::Status<vtpm::EngineError> made = engine->manufacture({options.ek});
    EXPECT_TRUE(made.ok());
    dispatcher = std::make_unique<vtpm::Dispatcher>(*platform, engine.get());
    guest = std::make_unique<SvsmGuest>(*dispatcher, *platform, area);
    handler = std::make_unique<VtpmTransportHandler>(*guest, *engine);
  }

  Bytes execute(const Bytes& command) {
    Bytes response(4096);
    response.resize(handler->execute(command, response));
    return response;
  }
  Bytes control(std::uint32_t code, const Bytes& payload = {}) {
    Bytes request = be32(code);
    request.insert(request.end(), payload.begin(), payload.end());
    swtpm::Request parsed{};
    EXPECT_EQ(swtpm::check_request(request, parsed), swtpm::kSuccess) << std::hex << code;
    Bytes response(4096);
    response.resize(handler->control(parsed, response));
    return response;
  }
  std::uint8_t* guest_bytes(std::uint64_t gpa) { return backing.data() + (gpa - kBackingStart); }

  Bytes backing;
  GuestArea area;
  BootInfo info;
  HostRegions regions;
  mm::Heap heap;
  mm::HeapAllocator allocator{heap};
  std::unique_ptr<NativeVtpmPlatform> platform;
  std::unique_ptr<vtpm::TpmEngine> engine;
  std::unique_ptr<vtpm::Dispatcher> dispatcher;
  std::unique_ptr<SvsmGuest> guest;
  std::unique_ptr<VtpmTransportHandler> handler;
};

TEST(NativeVtpm, TpmCommandsTravelThroughSvsmVtpmCmdInTheGuestPage) {
  NativeStack s;
  ASSERT_TRUE(s.guest->probe_vtpm());
  const std::uint64_t before = s.engine->commands_executed();
  const Bytes started = s.execute(kStartup);
  EXPECT_EQ(rc_of(started), 0u);
  EXPECT_EQ(s.engine->commands_executed(), before + 1);
  // The request header a guest writes: TPM_SEND_COMMAND (8, LE), locality 0, size 12 (LE).
  const Bytes header(s.guest->last_request_header().begin(), s.guest->last_request_header().end());
  EXPECT_EQ(header, (Bytes{8, 0, 0, 0, 0, 12, 0, 0, 0}));
  // The response was written over the request: u32 size (LE), then the response.
  const std::uint8_t* page = s.guest_bytes(s.area.tpm_buffer);
  EXPECT_EQ(Bytes(page, page + 4), (Bytes{10, 0, 0, 0}));
  EXPECT_EQ(Bytes(page + 4, page + 14), started);
  // The calling area's call_pending was cleared by the SVSM and is clear now.
  EXPECT_EQ(s.guest_bytes(s.area.calling_area)[0], 0);

  const Bytes a = s.execute(kGetRandom16);
  const Bytes b = s.execute(kGetRandom16);
  ASSERT_EQ(rc_of(a), 0u);
  ASSERT_EQ(a.size(), 12u + 16u);
  EXPECT_EQ(load_be<std::uint16_t>(a.data() + 10), 16u);
  EXPECT_NE(a, b);
  EXPECT_EQ(s.handler->stats().commands, 3u);
  EXPECT_EQ(s.handler->stats().svsm_errors, 0u);
}

TEST(NativeVtpm, CommandsBeyondTheSvsmBufferGetCommandSizeWithoutReachingTheTpm) {
  NativeStack s;
  ASSERT_EQ(rc_of(s.execute(kStartup)), 0u);
  Bytes too_long(4088, 0);
  too_long[0] = 0x80;
  too_long[1] = 0x01;
  formats::store_be<std::uint32_t>(too_long.data() + 2, 4088);
  formats::store_be<std::uint32_t>(too_long.data() + 6, 0x17B);
  const std::uint64_t before = s.engine->commands_executed();
  EXPECT_EQ(rc_of(s.execute(too_long)), 0x142u);  // TPM_RC_COMMAND_SIZE
  EXPECT_EQ(s.engine->commands_executed(), before);
  // The largest the buffer carries reaches the TPM, which judges it itself.
  Bytes largest(too_long.begin(), too_long.end() - 1);
  formats::store_be<std::uint32_t>(largest.data() + 2, 4087);
  const Bytes answer = s.execute(largest);
  EXPECT_EQ(s.engine->commands_executed(), before + 1);
  EXPECT_NE(rc_of(answer), 0u);
  EXPECT_EQ(answer.size(), 10u);
}

TEST(NativeVtpm, ControlChannelFollowsSwtpmAsCvtpmVtpmdDoes) {
  NativeStack s;
  Bytes caps = s.control(swtpm::kGetCapability);
  ASSERT_EQ(caps.size(), 8u);
  EXPECT_EQ(load_be<std::uint64_t>(caps.data()), 0x2CAFu);
  EXPECT_EQ(s.control(swtpm::kGetTpmEstablished), Bytes(8, 0));
  // QEMU's tpm-emulator needs RESET_TPMESTABLISHED for a TPM 2; the flag is never set.
  EXPECT_EQ(s.control(swtpm::kResetTpmEstablished, {3}), be32(0));
  EXPECT_EQ(s.control(swtpm::kResetTpmEstablished, {5}), be32(swtpm::kBadLocality));
  EXPECT_EQ(s.control(swtpm::kGetTpmEstablished), Bytes(8, 0));
  EXPECT_EQ(s.control(swtpm::kGetConfig), Bytes(8, 0));
  EXPECT_EQ(s.control(swtpm::kCancelTpmCommand), be32(0));
  const Bytes sizes = s.control(swtpm::kSetBufferSize, be32(1024));
  ASSERT_EQ(sizes.size(), 16u);
  EXPECT_EQ(load_be<std::uint32_t>(sizes.data()), 0u);
  for (int i = 1; i < 4; ++i) EXPECT_EQ(load_be<std::uint32_t>(sizes.data() + 4 * i), 4087u);
  EXPECT_EQ(s.control(swtpm::kHashStart), be32(swtpm::kFail));  // no SVSM path
  EXPECT_EQ(s.control(swtpm::kStoreVolatile), be32(swtpm::kFail));

  // Locality: accepted 0..4 and carried in each request; the SVSM serves 0 only.
  ASSERT_EQ(rc_of(s.execute(kStartup)), 0u);
  EXPECT_EQ(s.control(swtpm::kSetLocality, {1}), be32(0));
  const std::uint64_t before = s.engine->commands_executed();
  EXPECT_EQ(rc_of(s.execute(kGetRandom16)), 0x907u);  // TPM_RC_LOCALITY
  EXPECT_EQ(s.engine->commands_executed(), before);
  EXPECT_EQ(s.guest->last_request_header()[4], 1);
  EXPECT_EQ(s.control(swtpm::kSetLocality, {5}), be32(swtpm::kBadLocality));
  EXPECT_EQ(s.handler->locality(), 1);
  EXPECT_EQ(s.control(swtpm::kSetLocality, {0}), be32(0));
  EXPECT_EQ(rc_of(s.execute(kGetRandom16)), 0u);

  // STOP powers the TPM off (the SVSM refuses commands) until INIT, which is a _TPM_Init.
  EXPECT_EQ(s.control(swtpm::kStop), be32(0));
  EXPECT_FALSE(s.engine->powered());
  EXPECT_EQ(rc_of(s.execute(kGetRandom16)), 0x101u);
  EXPECT_EQ(s.control(swtpm::kInit, be32(0)), be32(0));
  EXPECT_EQ(rc_of(s.execute(kGetRandom16)), 0x100u);  // TPM_RC_INITIALIZE: needs Startup
  EXPECT_EQ(rc_of(s.execute(kStartup)), 0u);
  EXPECT_EQ(rc_of(s.execute(kGetRandom16)), 0u);
  // SHUTDOWN: the firmware keeps serving, the TPM is off until INIT.
  EXPECT_EQ(s.control(swtpm::kShutdown), be32(0));
  EXPECT_FALSE(s.engine->powered());
  EXPECT_EQ(s.control(swtpm::kInit, be32(1)), be32(0));
  EXPECT_TRUE(s.engine->powered());
}

struct Evidence {
  std::uint32_t result;
  std::uint64_t rax;
  Bytes report, manifest, certificates;
};

Evidence attest(NativeStack& s, std::uint8_t mode, const std::array<std::uint8_t, 64>& nonce) {
  Bytes payload{mode};
  payload.insert(payload.end(), nonce.begin(), nonce.end());
  const Bytes r = s.control(swtpm::kCvtpmAttest, payload);
  Evidence e{};
  if (r.size() < 24) {
    e.result = r.size() >= 4 ? load_be<std::uint32_t>(r.data()) : 0xFFFFFFFF;
    return e;
  }
  e.result = load_be<std::uint32_t>(r.data());
  e.rax = load_be<std::uint64_t>(r.data() + 4);
  const std::size_t sizes[3] = {load_be<std::uint32_t>(r.data() + 12),
                                load_be<std::uint32_t>(r.data() + 16),
                                load_be<std::uint32_t>(r.data() + 20)};
  EXPECT_EQ(r.size(), 24 + sizes[0] + sizes[1] + sizes[2]);
  auto at = r.begin() + 24;
  e.report.assign(at, at + static_cast<std::ptrdiff_t>(sizes[0]));
  at += static_cast<std::ptrdiff_t>(sizes[0]);
  e.manifest.assign(at, at + static_cast<std::ptrdiff_t>(sizes[1]));
  at += static_cast<std::ptrdiff_t>(sizes[1]);
  e.certificates.assign(at, at + static_cast<std::ptrdiff_t>(sizes[2]));
  return e;
}

class NativeVtpmEk : public ::testing::TestWithParam<vtpm::EkAlgorithm> {};

// What the bridge's attestation extension returns, checked as a verifier would: the manifest is
// the EK a guest's TPM2_CreatePrimary with the TCG template computes (what tpm2_createek does),
// REPORT_DATA binds nonce and manifest, and the report says it is not attested.
TEST_P(NativeVtpmEk, AttestationManifestIsTheEkBoundByReportData) {
  StackOptions options;
  options.ek = GetParam();
  NativeStack s(options);
  ASSERT_EQ(rc_of(s.execute(kStartup)), 0u);
  std::uint8_t create[vtpm::kMaxEkPublicSize + 64];
  const std::size_t create_size = vtpm::marshal_create_ek_command(GetParam(), create);
  const Bytes created = s.execute(Bytes(create, create + create_size));
  ASSERT_EQ(rc_of(created), 0u);
  const std::size_t public_size = load_be<std::uint16_t>(created.data() + 18);
  const Bytes ek(created.begin() + 20, created.begin() + 20 + static_cast<long>(public_size));
  EXPECT_EQ(ek, Bytes(s.engine->ek_public().begin(), s.engine->ek_public().end()));

  std::array<std::uint8_t, 64> nonce;
  for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<std::uint8_t>(7 * i + 1);
  for (std::uint8_t mode : {1, 0}) {
    const Evidence e = attest(s, mode, nonce);
    ASSERT_EQ(e.result, 0u);
    EXPECT_EQ(e.rax, 0u);
    if (mode == 1) {
      EXPECT_EQ(e.manifest, ek);
    } else {
      ASSERT_EQ(e.manifest.size(), 0x30 + ek.size());
      // SERVICES: the manifest GUID, total size, one entry (vTPM GUID, offset 0x30, size).
      EXPECT_EQ(Bytes(e.manifest.begin(), e.manifest.begin() + 16),
                Bytes({0xbb, 0x9e, 0x84, 0x63, 0x92, 0x3d, 0x70, 0x46, 0xa1, 0xff, 0x58, 0xf9, 0xc9,
                       0x4b, 0x87, 0xbb}));
      EXPECT_EQ(Bytes(e.manifest.begin() + 0x30, e.manifest.end()), ek);
    }
    Bytes material(nonce.begin(), nonce.end());
    material.insert(material.end(), e.manifest.begin(), e.manifest.end());
    const auto expected = cvtpm::sha512(material);
    ASSERT_EQ(e.report.size(), 0x4A0u);
    EXPECT_EQ(Bytes(e.report.begin() + 0x50, e.report.begin() + 0x90),
              Bytes(expected.begin(), expected.end()));
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(e.report.data() + 0xC0)),
              kNotAttestedMarker);
    EXPECT_TRUE(e.certificates.empty());
  }
  EXPECT_EQ(attest(s, 2, nonce).result, swtpm::kBadParameter);
  EXPECT_EQ(s.handler->stats().attestations, 2u);
}

INSTANTIATE_TEST_SUITE_P(Eks, NativeVtpmEk,
                         ::testing::Values(vtpm::EkAlgorithm::kRsa2048, vtpm::EkAlgorithm::kEccP256,
                                           vtpm::EkAlgorithm::kEccP384),
                         [](const auto& param_info) {
                           std::string name = vtpm::ek_algorithm_name(param_info.param);
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

TEST(NativeVtpm, AnSvsmErrorBecomesTpmFailureWithoutReachingTheTpm) {
  // The guest's TPM buffer starts half a page below the firmware region: the request fits in
  // guest memory, the 4 KiB buffer does not, so SVSM_VTPM_CMD refuses it (INVALID_ADDRESS).
  StackOptions options;
  options.area.tpm_buffer = kFirmwareStart - 0x800;
  NativeStack s(options);
  const std::uint64_t before = s.engine->commands_executed();
  EXPECT_EQ(rc_of(s.execute(kStartup)), 0x101u);  // TPM_RC_FAILURE
  EXPECT_EQ(s.engine->commands_executed(), before);
  EXPECT_EQ(s.handler->stats().svsm_errors, 1u);
  // The same refusal with a non-zero locality is still a failure, not a locality error.
  EXPECT_EQ(s.control(swtpm::kSetLocality, {2}), be32(0));
  EXPECT_EQ(rc_of(s.execute(kStartup)), 0x101u);
  EXPECT_EQ(s.engine->commands_executed(), before);
}

TEST(NativeVtpm, ACallTheSvsmDoesNotServeBecomesTpmFailure) {
  // vCPU 0's calling area is backed but not guest memory: serve_pending does not serve it.
  StackOptions options;
  options.ram_start = options.area.calling_area + 0x1000;
  NativeStack s(options);
  const std::uint64_t before = s.engine->commands_executed();
  EXPECT_EQ(rc_of(s.execute(kGetRandom16)), 0x101u);
  EXPECT_EQ(s.engine->commands_executed(), before);
  EXPECT_EQ(s.handler->stats().malformed, 1u);
  EXPECT_FALSE(s.guest->probe_vtpm());
  std::array<std::uint8_t, 64> nonce{};
  Bytes payload{1};
  payload.insert(payload.end(), nonce.begin(), nonce.end());
  const Bytes reply = s.control(swtpm::kCvtpmAttest, payload);
  ASSERT_GE(reply.size(), 4u);
  EXPECT_EQ(load_be<std::uint32_t>(reply.data()), swtpm::kFail);
}

// Hands requests on to the handler. The native vTPM glue is built without RTTI (as the
// firmware), so in sanitizer builds the channel (built with UBSan's vptr check) must call a class
// that has typeinfo; this file is compiled without the check.
class Forwarding final : public transport::TpmTransportHandler {
 public:
  explicit Forwarding(VtpmTransportHandler& inner) : inner_(inner) {}
  std::size_t execute(std::span<const std::uint8_t> command,
                      std::span<std::uint8_t> response) override {
    return inner_.execute(command, response);
  }
  std::size_t control(const swtpm::Request& request, std::span<std::uint8_t> response) override {
    return inner_.control(request, response);
  }

 private:
  VtpmTransportHandler& inner_;
};

// The firmware's composition (platform/native/tpm_channel.cpp): the serial channel over a UART
// hands framed requests to this handler.
TEST(NativeVtpm, ServesTheSerialLinkEndToEnd) {
  NativeStack s;
  testing::FakeUart uart_model(0x2F8);
  console::Uart16550 uart(uart_model, 0x2F8);
  ASSERT_TRUE(uart.init());
  Forwarding forwarding(*s.handler);
  transport::SerialChannel channel(uart, forwarding);
  auto send = [&](transport::FrameType type, std::uint8_t sequence, const Bytes& payload) {
    Bytes frame(transport::kMaxLinkFrame);
    frame.resize(transport::encode_frame(type, sequence, payload, frame));
    uart_model.receive(frame);
    while (channel.poll()) {
    }
    transport::LinkReceiver receiver;
    std::vector<std::pair<std::uint8_t, Bytes>> frames;
    for (std::uint8_t b : uart_model.take_transmitted()) {
      if (receiver.push(b)) {
        const transport::Frame f = receiver.frame();
        EXPECT_EQ(static_cast<int>(f.type), static_cast<int>(type) + 1);  // the response type
        frames.emplace_back(f.sequence, Bytes(f.payload.begin(), f.payload.end()));
      }
    }
    EXPECT_EQ(frames.size(), 1u);
    return frames.empty() ? Bytes{} : frames[0].second;
  };
  EXPECT_EQ(send(transport::FrameType::kControlRequest, 1, Bytes{0, 0, 0, 5, 0}), be32(0));
  EXPECT_EQ(rc_of(send(transport::FrameType::kTpmCommand, 2, kStartup)), 0u);
  const Bytes random = send(transport::FrameType::kTpmCommand, 3, kGetRandom16);
  EXPECT_EQ(rc_of(random), 0u);
  EXPECT_EQ(random.size(), 28u);
  EXPECT_EQ(channel.stats().tpm_commands, 2u);
  EXPECT_EQ(s.handler->stats().commands, 2u);
}

}  // namespace
}  // namespace cvtpm::fw::native
