// The vTPM service of the native platform, assembled once at boot: the platform (plain memory),
// the TPM engine (libtpms, manufactured here), the dispatcher (the same SVSM service SNP guests
// call), the native "guest" that issues the calls and the transport handler the serial link
// serves (docs/firmware.md, "The vTPM on the native platform"). Firmware only.
#pragma once

#include <cstdint>

#include "console/port_io.h"
#include "cvtpm/state/persistent_state.h"
#include "cvtpm/vtpm/dispatcher.h"
#include "cvtpm/vtpm/tpm_engine.h"
#include "mm/heap_allocator.h"
#include "platform/native/boot_info.h"
#include "platform/native/svsm_guest.h"
#include "platform/native/vtpm_platform.h"
#include "platform/native/vtpm_transport.h"

namespace cvtpm::fw::native {

struct NativeVtpm {
  NativeVtpm(const NativePlatformConfig& config, const GuestArea& area, mm::Heap& heap);

  mm::HeapAllocator allocator;
  NativeVtpmPlatform platform;
  vtpm::TpmEngine engine;
  vtpm::Dispatcher dispatcher;
  SvsmGuest guest;
  VtpmTransportHandler handler;
  // With the "state" option: the persistent state behind the engine (null: ephemeral TPM).
  state::PersistentState* persistent = nullptr;
};

// The native guest's pages: the last GuestArea::kPages pages below the firmware region.
inline constexpr GuestArea kGuestArea = GuestArea::ending_at(formats::boot::kFirmwareBase);

// Builds the service on the firmware heap and manufactures the TPM with `info.ek_algorithm`
// (new seeds, the EK computed) — or, with the "state" option, restores it from the state link on
// COM3 through `io` (platform/native/native_state.h) — then probes it as Linux does. Panics naming
// the step if the guest pages are not guest memory or manufacturing fails. Logs the stage and its
// time.
NativeVtpm& start_vtpm(const BootInfo& info, std::uint64_t identity_limit, console::PortIo& io);

}  // namespace cvtpm::fw::native
