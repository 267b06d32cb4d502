// The persistent vTPM's start, shared by the native and the SNP platform (docs/persistence.md):
// the state link on COM3 to the host's storage, PersistentState restoring or manufacturing the TPM
// with the platform's root key (native: the INSECURE development key; SNP: MSG_KEY_REQ), the
// write log and the refusal that stops the firmware. Firmware only.
#pragma once

#include <cstdint>
#include <span>

#include "console/uart16550.h"
#include "cvtpm/state/persistent_state.h"

namespace cvtpm::fw {

// COM3 (QEMU's third -serial: hw/char/serial-isa.c isa_serial_io[2]).
inline constexpr std::uint16_t kStateLinkPort = 0x3E8;

// Stops the firmware after one line "state: REFUSED: <what>: <why> ..." (cvtpm-launch shows it);
// nothing is written.
[[noreturn]] void refuse_persistent_state(const char* what, const char* why);

// Brings up `engine` from the host's stored state on `link` (an initialized UART), or
// manufactures it with the seeds derived from `root` and writes generation 1. Wipes `root`.
// A state that cannot be used stops the firmware (refuse_persistent_state's line).
state::PersistentState& start_persistent_tpm(vtpm::TpmEngine& engine, vtpm::Allocator& allocator,
                                             console::Uart16550& link,
                                             std::span<std::uint8_t, state::kRootKeySize> root,
                                             const state::StartConfig& config);

}  // namespace cvtpm::fw
