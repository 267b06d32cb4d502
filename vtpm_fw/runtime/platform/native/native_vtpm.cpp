#include "platform/native/native_vtpm.h"

#include <new>

#include "arch/x86_64/tsc_clock.h"
#include "console/log.h"
#include "cvtpm/vtpm/ek_template.h"
#include "mm/firmware_heap.h"
#include "panic/panic.h"
#include "platform/native/native_state.h"

namespace cvtpm::fw::native {

namespace boot = formats::boot;

NativeVtpm::NativeVtpm(const NativePlatformConfig& config, const GuestArea& area, mm::Heap& heap)
    : allocator(heap),
      platform(config, allocator),
      engine(allocator),
      dispatcher(platform, &engine),
      guest(dispatcher, platform, area),
      handler(guest, engine) {}

NativeVtpm& start_vtpm(const BootInfo& info, std::uint64_t identity_limit, console::PortIo& io) {
  // One service for the firmware's lifetime; constructed here, after the heap exists.
  alignas(NativeVtpm) static unsigned char storage[sizeof(NativeVtpm)];
  const NativePlatformConfig config{&info,
                                    boot::kFirmwareBase,
                                    boot::kFirmwareBase + boot::kFirmwareRegionSize,
                                    identity_limit,
                                    0,  // identity mapped
                                    kGuestArea.calling_area,
                                    kGuestArea.start(),
                                    kGuestArea.end()};
  auto* vtpm = new (storage) NativeVtpm(config, kGuestArea, mm::firmware_heap());
  if (!vtpm->platform.guest_owns(kGuestArea.start(), kGuestArea.end() - kGuestArea.start())) {
    panic("tpm: the native guest pages 0x%lx-0x%lx below the firmware region are not RAM",
          static_cast<unsigned long>(kGuestArea.start()),
          static_cast<unsigned long>(kGuestArea.end()));
  }

  const std::uint64_t started = x86::tsc_clock::uptime_ns();
  if (info.persistent_state) {
    vtpm->persistent = &start_persistent_tpm(vtpm->engine, vtpm->allocator, info, io);
    // The SVSM attestation carries the state's generations and digests (docs/persistence.md).
    vtpm->dispatcher.set_state_evidence(&vtpm->persistent->evidence());
  } else {
    const vtpm::Status<vtpm::EngineError> made = vtpm->engine.manufacture({info.ek_algorithm});
    if (!made) {
      panic("tpm: manufacturing failed: %s (code 0x%x)", vtpm::describe(made.error().failure),
            made.error().code);
    }
  }
  const std::uint64_t took_us = (x86::tsc_clock::uptime_ns() - started) / 1000;
  if (!vtpm->guest.probe_vtpm()) panic("tpm: SVSM_VTPM_QUERY does not offer TPM_SEND_COMMAND");
  log::info(
      "init: tpm: %s in %lu.%03lu ms: EK %s (%zu-byte TPMT_PUBLIC), %zu bytes of NV "
      "state; SVSM vTPM protocol offers TPM_SEND_COMMAND",
      vtpm->persistent == nullptr ? "manufactured"
      : vtpm->persistent->evidence().status ==
              static_cast<std::uint32_t>(state::StateStatus::kRestored)
          ? "restored"
          : "manufactured (derived seeds)",
      static_cast<unsigned long>(took_us / 1000), static_cast<unsigned long>(took_us % 1000),
      vtpm::ek_algorithm_name(info.ek_algorithm), vtpm->engine.ek_public().size(),
      vtpm->engine.nv_bytes());
  log::info("init: tpm: native guest pages 0x%lx-0x%lx (calling area, TPM buffer 0x%lx)",
            static_cast<unsigned long>(kGuestArea.start()),
            static_cast<unsigned long>(kGuestArea.end()),
            static_cast<unsigned long>(kGuestArea.tpm_buffer));
  return *vtpm;
}

}  // namespace cvtpm::fw::native
