// cvtpm-fw's boot sequence: from the 32-bit entry (entry.S) to a ready runtime, then either the
// SEV-SNP platform at VMPL0 (platform/snp, when the entry word says kSnp: guest preparation and
// the request loop), or on the native platform a deliberate fault if one was asked for, then the
// vTPM (TPM manufactured, the SVSM service assembled), then the selected mode — self-test, or
// serving the vTPM serial channel. Each stage logs one "init:" line; the QEMU boot test checks
// them in order.
#include <cstdint>

#include <openssl/crypto.h>

#include "arch/x86_64/cmos_rtc.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/cpu_features.h"
#include "arch/x86_64/descriptors.h"
#include "arch/x86_64/entropy.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/port_io.h"
#include "arch/x86_64/stacks.h"
#include "arch/x86_64/tls.h"
#include "arch/x86_64/tsc_clock.h"
#include "console/log.h"
#include "cvtpm/formats/boot/boot_params.h"
#include "cvtpm/version.h"
#include "libc/firmware_services.h"
#include "mm/firmware_heap.h"
#include "mm/image_layout.h"
#include "mm/page_allocator.h"
#include "panic/panic.h"
#include "platform/native/boot_info.h"
#include "platform/native/native_platform.h"
#include "platform/native/native_vtpm.h"
#include "platform/native/tpm_channel.h"
#include "platform/snp/snp_main.h"
#include "selftest/fault_injection.h"
#include "selftest/selftest.h"

extern "C" void fw_run_global_constructors();
extern "C" void OPENSSL_cpuid_setup();

namespace cvtpm::fw {

namespace {

namespace boot = formats::boot;

// constinit: these are used before fw_run_global_constructors() runs.
constinit x86::X86PortIo g_port_io;
constinit native::IdentityMappedMemory g_memory;
constinit console::Uart16550 g_console(g_port_io, 0x3F8);
constinit native::BootInfo g_boot_info;
constinit mm::PageAllocator g_pages;
std::uint64_t
    g_page_bitmap[mm::PageAllocator::bitmap_words(boot::kFirmwareRegionSize / mm::kPageSize)];
std::uint64_t g_entry_tsc = 0;

const char* platform_name(boot::EntryPlatform platform) {
  switch (platform) {
    case boot::EntryPlatform::kPvh:
      return "pvh";
    case boot::EntryPlatform::kIgvmNative:
      return "igvm-native";
    case boot::EntryPlatform::kSnp:
      return "snp";
  }
  return "unknown";
}

void init_console(std::uint32_t entry_eax, std::uint64_t boot_params_gpa, bool snp) {
  // Under SNP port I/O goes through the GHCB (a plain in/out would raise #VC).
  console::PortIo& io = snp ? snp_platform::console_io() : static_cast<console::PortIo&>(g_port_io);
  g_console =
      console::Uart16550(io, native::early_console_port(entry_eax, boot_params_gpa, g_memory));
  if (g_console.base() != 0) g_console.init();
  log::set_console(&g_console);
  log::info("cvtpm-fw %s", CVTPM_VERSION);
  log::info("init: console on port 0x%x", g_console.base());
}

void init_boot_info(std::uint32_t entry_eax, std::uint64_t boot_params_gpa,
                    std::uint64_t start_info_gpa, bool snp) {
  native::BootError error;
  const bool read = snp ? snp_platform::read_boot_info(boot_params_gpa, g_boot_info, error)
                        : native::read_boot_info(entry_eax, boot_params_gpa, start_info_gpa,
                                                 g_memory, g_boot_info, error);
  if (!read) {
    // Options parsed before the failure still count: a test run must end with its status.
    if (g_boot_info.test_mode()) native::enable_test_exit();
    panic("boot: %s", error.message);
  }
  const native::BootInfo& info = g_boot_info;
  if (info.test_mode()) native::enable_test_exit();
  switch (info.log_level) {
    case native::ConsoleLevel::kError:
      log::set_level(log::Level::kError);
      break;
    case native::ConsoleLevel::kWarn:
      log::set_level(log::Level::kWarn);
      break;
    case native::ConsoleLevel::kInfo:
      log::set_level(log::Level::kInfo);
      break;
    case native::ConsoleLevel::kDebug:
      log::set_level(log::Level::kDebug);
      break;
    case native::ConsoleLevel::kDefault:
      break;
  }
  log::info("init: boot info from %s: %zu RAM ranges, %u vCPUs reported, command line \"%s\"",
            platform_name(info.platform), info.ram_count, info.vcpu_count, info.command_line);
  for (std::size_t i = 0; i < info.ram_count; ++i) {
    log::debug("  RAM 0x%012lx-0x%012lx", static_cast<unsigned long>(info.ram[i].start),
               static_cast<unsigned long>(info.ram[i].end));
  }
  if (info.unknown_option[0] != '\0') {
    log::warn("boot: ignoring unknown option \"%s\"", info.unknown_option);
  }
}

void init_cpu() {
  const x86::CpuFeatures features = x86::detect_cpu_features();
  log::info("init: cpu %s: sse2 %d fxsr %d rdrand %d rdseed %d nx %d invariant-tsc %d",
            features.vendor, features.sse2, features.fxsr, features.rdrand, features.rdseed,
            features.nx, features.invariant_tsc);
  if (!features.sse2 || !features.fxsr) panic("cpu: SSE2/FXSR missing (libcrypto needs them)");
  if (!x86::entropy::init(features)) {
    panic(
        "cpu: no hardware entropy: CPUID reports neither RDSEED nor RDRAND "
        "(on QEMU use -cpu max or a CPU model with rdrand)");
  }
  x86::set_stack_canary(x86::entropy::random_u64());
  log::info("init: entropy from %s, stack-protector canary set", x86::entropy::source());
}

std::uint64_t identity_limit() {
  std::uint64_t top = 0;
  const native::BootInfo& info = g_boot_info;
  for (std::size_t i = 0; i < info.ram_count; ++i) {
    if (info.ram[i].end > top) top = info.ram[i].end;
  }
  return x86::identity_limit_for(top);
}

void init_memory(bool nx, bool snp) {
  // Under SNP only the launched image is validated memory: the rest of the region (the page
  // allocator's pool) is accepted before any of it is handed out.
  if (snp) snp_platform::accept_firmware_memory();
  const mm::ImageLayout image = mm::image_layout();
  if (image.start != boot::kFirmwareBase) {
    panic("image linked at 0x%lx, the boot contract says 0x%lx",
          static_cast<unsigned long>(image.start), static_cast<unsigned long>(boot::kFirmwareBase));
  }
  const std::uint64_t region_end = boot::kFirmwareBase + boot::kFirmwareRegionSize;
  const std::size_t pool_pages = (region_end - image.end) / mm::kPageSize;
  if (!g_pages.init(image.end, pool_pages, g_page_bitmap)) panic("page allocator: bad pool");
  const native::BootInfo& info = g_boot_info;
  for (std::size_t i = 0; i < info.reserved_count; ++i) {
    for (std::uint64_t page = info.reserved[i].start; page < info.reserved[i].end;
         page += mm::kPageSize) {
      if (g_pages.contains(page) && !g_pages.is_used(page)) g_pages.reserve(page, 1);
    }
  }
  log::info("init: memory: image 0x%lx-0x%lx (%lu KiB), page pool %zu pages, %zu reserved",
            static_cast<unsigned long>(image.start), static_cast<unsigned long>(image.end),
            static_cast<unsigned long>((image.end - image.start) / 1024), g_pages.total_pages(),
            g_pages.reserved_pages());

  x86::PagingPlan plan{image, boot::kFirmwareBase, region_end, identity_limit(), nx};
  const x86::GuardPages guards = x86::stack_guard_pages();
  plan.guard_pages = guards.pages;
  plan.guard_page_count = guards.count;
  // Under SNP every mapping is private (C-bit) except the pages shared with the hypervisor.
  plan.encryption_mask = snp_platform::encryption_mask();
  plan.shared_pages = snp_platform::shared_pages().data();
  plan.shared_page_count = snp_platform::shared_pages().size();
  plan.guest_window = snp_platform::guest_window();
  const x86::PagingResult paging =
      x86::build_and_activate(plan, {snp_platform::known_efer()}, g_pages);
  if (paging.root == 0) panic("paging: out of pages for the page tables");
  if (snp) snp_platform::use_guest_window();
  log::info(
      "init: paging: identity map to 0x%lx, W^X image, %d unmapped stack guard pages, "
      "NX %s, %lu table pages%s",
      static_cast<unsigned long>(plan.identity_limit), x86::kStackCount, nx ? "on" : "unavailable",
      static_cast<unsigned long>(paging.table_pages),
      plan.guest_window != 0 ? ", guest memory in the guest window" : "");

  mm::init_firmware_heap(g_pages, x86::entropy::random_u64());
  log::info("init: heap on the page pool (grows in %zu KiB regions)", mm::kHeapGrowStep / 1024);
}

void init_clock() {
  std::uint64_t hz = x86::tsc_clock::measure_frequency_with_pit();
  if (hz == 0) {
    hz = 1'000'000'000;
    log::warn("clock: the PIT did not count; assuming a 1 GHz TSC");
  }
  x86::tsc_clock::start(hz, g_entry_tsc);
  log::set_clock(x86::tsc_clock::uptime_ns);
  const std::int64_t epoch = x86::cmos_rtc::read_epoch_seconds();
  if (epoch >= 0) {
    libc::set_realtime_base(epoch -
                            static_cast<std::int64_t>(x86::tsc_clock::uptime_ns() / 1'000'000'000));
  }
  log::info("init: clock: TSC %lu.%03lu MHz (PIT), wall clock %s %ld",
            static_cast<unsigned long>(hz / 1'000'000),
            static_cast<unsigned long>(hz / 1000 % 1000),
            epoch >= 0 ? "from the RTC, epoch" : "unknown, epoch", static_cast<long>(epoch));
}

void init_crypto() {
  // x86_64cpuid.o's .init section would call this in a process; the firmware has no .init.
  OPENSSL_cpuid_setup();
  // No openssl.cnf (there are no files) and no atexit handlers.
  if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, nullptr) != 1) {
    panic("crypto: OPENSSL_init_crypto failed");
  }
  log::info("init: crypto: %s", OpenSSL_version(OPENSSL_VERSION));
}

void log_memory_use(const char* when) {
  const mm::ImageLayout image = mm::image_layout();
  const mm::Heap::Stats& heap = mm::firmware_heap().stats();
  const std::uint64_t image_bytes = image.end - image.start;
  const std::uint64_t peak_pages = g_pages.peak_pages() * mm::kPageSize;
  log::info(
      "memory %s: image %lu KiB + peak pages %lu KiB = %lu KiB of %lu KiB; heap peak %zu "
      "KiB in %zu KiB of regions",
      when, static_cast<unsigned long>(image_bytes / 1024),
      static_cast<unsigned long>(peak_pages / 1024),
      static_cast<unsigned long>((image_bytes + peak_pages) / 1024),
      static_cast<unsigned long>(boot::kFirmwareRegionSize / 1024), heap.peak_used_bytes / 1024,
      heap.region_bytes / 1024);
}

// While serving: one line whenever the memory peak grew since the last report (the benchmark
// reads the last one after its workload).
void report_memory_peak() {
  static std::size_t reported_pages = 0;
  static std::size_t reported_heap = 0;
  const std::size_t pages = g_pages.peak_pages();
  const std::size_t heap = mm::firmware_heap().stats().peak_used_bytes;
  if (pages == reported_pages && heap == reported_heap) return;
  reported_pages = pages;
  reported_heap = heap;
  log_memory_use("peak while serving");
}

}  // namespace

}  // namespace cvtpm::fw

extern "C" [[noreturn]] void fw_main(std::uint32_t entry_eax, std::uint64_t boot_params_gpa,
                                     std::uint64_t start_info_gpa) {
  namespace fw = cvtpm::fw;
  fw::g_entry_tsc = fw::x86::rdtsc();
  // SEV-SNP: before anything prints (the console needs the GHCB) or traps (#VC needs the IDT).
  const bool snp = fw::snp_platform::is_snp_entry(entry_eax);
  if (snp) fw::snp_platform::early_boot(boot_params_gpa);
  fw::init_console(entry_eax, boot_params_gpa, snp);
  fw::set_terminate_hook(snp ? fw::snp_platform::terminate_hook : fw::native::terminate_hook);
  if (snp) fw::snp_platform::log_early_state();

  fw::x86::install_descriptor_tables();
  if (snp) fw::snp_platform::install_vc_handler();
  fw::log::info("init: descriptor tables: 32 exception vectors on %d IST stacks%s",
                fw::x86::kIstCount, snp ? ", #VC emulation" : "");
  fw_run_global_constructors();

  fw::init_boot_info(entry_eax, boot_params_gpa, start_info_gpa, snp);
  fw::init_cpu();
  fw::init_memory(fw::x86::detect_cpu_features().nx, snp);
  fw::init_clock();
  fw::init_crypto();
  fw::log::info("ready: runtime up in %lu us",
                static_cast<unsigned long>(fw::x86::tsc_clock::uptime_ns() / 1000));
  fw::log_memory_use("at ready");

  const fw::native::BootInfo& info = fw::g_boot_info;
  if (snp) {
    // An SVSM serves its guest; the native test modes have no meaning here.
    if (info.test_mode()) fw::log::warn("snp: self-test and fault options are ignored under SNP");
    fw::snp_platform::serve(info, fw::g_pages);
  }
  // Faults before the TPM: the fault tests need the runtime, not a manufactured TPM.
  if (info.fault != fw::native::FaultTest::kNone) {
    fw::log::info("fault test: %s", fw::selftest::fault_name(info.fault));
    fw::selftest::trigger_fault(info.fault);
    fw::panic("fault test: %s did not fault", fw::selftest::fault_name(info.fault));
  }

  fw::native::NativeVtpm& vtpm = fw::native::start_vtpm(info, fw::identity_limit(), fw::g_port_io);
  fw::log::info("ready: vTPM up in %lu us",
                static_cast<unsigned long>(fw::x86::tsc_clock::uptime_ns() / 1000));
  fw::log_memory_use("at vTPM ready");
  if (info.self_test) {
    const bool passed = fw::selftest::run(vtpm);
    fw::log_memory_use("after the self-test");
    fw::log::info("selftest: done in %lu us, exiting with the %s status",
                  static_cast<unsigned long>(fw::x86::tsc_clock::uptime_ns() / 1000),
                  passed ? "pass" : "fail");
    fw::native::stop(!passed);
  }
  fw::native::serve_tpm_channel(fw::g_port_io, vtpm.handler, fw::report_memory_peak);
}
