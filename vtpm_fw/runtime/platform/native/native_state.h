// The persistent vTPM on the native platform (docs/persistence.md, "Emulation"): the state link
// on COM3 to the host's storage (cvtpm-launch emulate --state), the INSECURE development key as
// the root key, and the same start as an SNP boot (platform/persistent_tpm.h). Firmware only.
#pragma once

#include <cstdint>

#include "console/port_io.h"
#include "cvtpm/state/persistent_state.h"
#include "platform/native/boot_info.h"

namespace cvtpm::fw::native {

// Brings up `engine` from the host's stored state, or manufactures it with the derived seeds and
// writes generation 1. A state that cannot be used stops the firmware after one line
// "state: REFUSED: <what>: <why> ..." (cvtpm-launch shows it); nothing is written then.
state::PersistentState& start_persistent_tpm(vtpm::TpmEngine& engine, vtpm::Allocator& allocator,
                                             const BootInfo& info, console::PortIo& io);

}  // namespace cvtpm::fw::native
