#include "platform/native/native_state.h"

#include "console/log.h"
#include "console/uart16550.h"
#include "cvtpm/crypto/hkdf.h"
#include "mm/image_layout.h"
#include "platform/native/dev_state_key.h"
#include "platform/persistent_tpm.h"

namespace cvtpm::fw::native {

state::PersistentState& start_persistent_tpm(vtpm::TpmEngine& engine, vtpm::Allocator& allocator,
                                             const BootInfo& info, console::PortIo& io) {
  if (info.dev_key_invalid) refuse_persistent_state("devkey=", "not 64 hex digits");
  static console::Uart16550 uart(io, kStateLinkPort);
  if (!uart.init()) {
    refuse_persistent_state("state link", "no UART at 0x3e8 (COM3: QEMU's third -serial)");
  }

  log::warn(
      "state: sealed with the INSECURE development key (%s): anyone who has this firmware "
      "file can derive it; for development and tests only",
      info.dev_key_given ? "devkey= given" : "the published default");
  const mm::ImageLayout image = mm::image_layout();
  std::uint8_t root[state::kRootKeySize];
  const std::span<const std::uint8_t> code(reinterpret_cast<const std::uint8_t*>(image.start),
                                           image.rodata_end - image.start);
  if (!derive_dev_root_key(info.dev_key_given ? std::span<const std::uint8_t, 32>(info.dev_key)
                                              : std::span<const std::uint8_t, 32>(kDefaultDevKey),
                           code, root)) {
    crypto::wipe(root, sizeof root);
    refuse_persistent_state("development key", "libcrypto failed");
  }
  return fw::start_persistent_tpm(engine, allocator, uart, root,
                                  {state::Binding::kDevelopment, info.ek_algorithm});
}

}  // namespace cvtpm::fw::native
