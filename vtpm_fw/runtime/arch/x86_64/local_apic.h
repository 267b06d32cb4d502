// A periodic local-APIC timer so an idle firmware can halt instead of spinning: under QEMU TCG a
// spinning vCPU burns a whole host core. The timer interrupt does nothing but wake the CPU
// (and acknowledge itself); interrupts are enabled only inside wait_for_interrupt().
#pragma once

#include <cstdint>

namespace cvtpm::fw::x86::local_apic {

inline constexpr int kTimerVector = 0x20;

// Enables the local APIC (xAPIC or x2APIC mode, whichever the firmware found) with a periodic
// timer of `period_us`, calibrated against the TSC clock (which must be started). Masks the
// legacy 8259 PICs. Returns false if the CPU has no local APIC.
bool start_periodic_timer(std::uint32_t period_us);
bool timer_running();

// Halts until the next interrupt (the timer tick at the latest).
void wait_for_interrupt();

}  // namespace cvtpm::fw::x86::local_apic
