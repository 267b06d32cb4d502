#include "arch/x86_64/local_apic.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/tsc_clock.h"

// Read by the timer stub in exception_entry.S: where to write the end-of-interrupt, or 0 to
// use the x2APIC EOI MSR.
extern "C" volatile std::uint32_t* fw_lapic_eoi_register;
volatile std::uint32_t* fw_lapic_eoi_register = nullptr;

namespace cvtpm::fw::x86::local_apic {

namespace {

constexpr std::uint32_t kMsrApicBase = 0x1B;
constexpr std::uint64_t kApicBaseEnable = 1u << 11;
constexpr std::uint64_t kApicBaseX2 = 1u << 10;

// Register offsets (xAPIC MMIO; x2APIC MSR = 0x800 + offset / 16).
constexpr std::uint32_t kSpurious = 0xF0;
constexpr std::uint32_t kEoi = 0xB0;
constexpr std::uint32_t kLvtTimer = 0x320;
constexpr std::uint32_t kInitialCount = 0x380;
constexpr std::uint32_t kCurrentCount = 0x390;
constexpr std::uint32_t kDivide = 0x3E0;
constexpr std::uint32_t kLvtMasked = 1u << 16;
constexpr std::uint32_t kLvtPeriodic = 1u << 17;

bool g_x2apic = false;
volatile std::uint32_t* g_mmio = nullptr;
bool g_running = false;

std::uint32_t read(std::uint32_t offset) {
  if (g_x2apic) return static_cast<std::uint32_t>(rdmsr(0x800 + offset / 16));
  return g_mmio[offset / 4];
}

void write(std::uint32_t offset, std::uint32_t value) {
  if (g_x2apic) {
    wrmsr(0x800 + offset / 16, value);
  } else {
    g_mmio[offset / 4] = value;
  }
}

}  // namespace

bool start_periodic_timer(std::uint32_t period_us) {
  if (((cpuid(1).edx >> 9) & 1) == 0 || !tsc_clock::started()) return false;
  // The BIOS may have left the 8259s unmasked; with interrupts enabled their IRQs would arrive
  // on vectors that alias CPU exceptions.
  outb(0x21, 0xFF);
  outb(0xA1, 0xFF);

  std::uint64_t base = rdmsr(kMsrApicBase);
  g_x2apic = (base & kApicBaseX2) != 0;
  if ((base & kApicBaseEnable) == 0) wrmsr(kMsrApicBase, base |= kApicBaseEnable);
  if (!g_x2apic) {
    g_mmio = reinterpret_cast<volatile std::uint32_t*>(base & 0xF'FFFF'F000);
    fw_lapic_eoi_register = g_mmio + kEoi / 4;
  }
  write(kSpurious, 0x100 | 0xFF);  // software-enable, spurious vector 0xFF
  write(kDivide, 0x3);             // divide by 16

  // Count APIC ticks over 1 ms of TSC time.
  write(kLvtTimer, kLvtMasked | kTimerVector);
  write(kInitialCount, 0xFFFF'FFFF);
  const std::uint64_t until = tsc_clock::uptime_ns() + 1'000'000;
  while (tsc_clock::uptime_ns() < until) pause();
  const std::uint64_t ticks_per_ms = 0xFFFF'FFFFull - read(kCurrentCount);
  write(kInitialCount, 0);
  if (ticks_per_ms == 0) return false;

  std::uint64_t count = ticks_per_ms * period_us / 1000;
  if (count == 0) count = 1;
  if (count > 0xFFFF'FFFF) count = 0xFFFF'FFFF;
  write(kLvtTimer, kLvtPeriodic | kTimerVector);
  write(kInitialCount, static_cast<std::uint32_t>(count));
  g_running = true;
  return true;
}

bool timer_running() {
  return g_running;
}

void wait_for_interrupt() {
  // STI's one-instruction shadow makes "sti; hlt" atomic: no wake-up is lost in between.
  asm volatile("sti; hlt; cli" ::: "memory");
}

}  // namespace cvtpm::fw::x86::local_apic
