// The keys of the persistent vTPM state, derived from one 32-byte root key (the PSP's
// MSG_KEY_REQ key on SNP, the INSECURE development key in emulation) with HKDF-SHA-256
// (docs/persistence.md, "Keys"): the root key itself never seals or seeds anything. Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cvtpm/formats/state/state_blob.h"

namespace cvtpm::state {

using formats::state::Binding;

inline constexpr std::size_t kRootKeySize = 32;
inline constexpr std::size_t kKeySize = 32;

struct StateKeys {
  Binding binding = Binding::kNone;
  std::uint8_t seal[kKeySize] = {};  // per-blob AES-256-GCM keys derive from it
  std::uint8_t seed[kKeySize] = {};  // drives the randomness of a new TPM's manufacture
  std::uint8_t key_check[formats::state::kKeyCheckSize] = {};  // stored in clear in each blob

  StateKeys() = default;
  StateKeys(const StateKeys&) = delete;
  StateKeys& operator=(const StateKeys&) = delete;
  ~StateKeys() { wipe(); }
  void wipe();
};

// PRK = HKDF-Extract("cvtpm vTPM state v1", root); seal = Expand(PRK, "seal", 32), seed =
// Expand(PRK, "tpm seeds", 32), key check = Expand(PRK, "key check", 16). False if libcrypto
// fails (the keys are then wiped).
bool derive_state_keys(std::span<const std::uint8_t, kRootKeySize> root, Binding binding,
                       StateKeys& keys);

// Name for logs: "development (INSECURE)", "measurement", "identity", "none"; "unknown".
const char* binding_name(Binding binding);

}  // namespace cvtpm::state
