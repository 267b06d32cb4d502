// The randomness of a new TPM's manufacture, derived from the state's seed key, so the same image
// on the same chip gets the same primary seeds (EK, SRK) at every fresh manufacture and another
// image other ones (docs/persistence.md, "Stable seeds").
//
// libtpms has no call to set its seeds: TPM_Manufacture draws them, and the hierarchy proofs,
// from its DRBG (Hierarchy.c HierarchyPreInstall_Init, CryptRand.c CryptRandomGenerate), whose
// entropy comes from OpenSSL's RAND_bytes (Entropy.c _plat__GetEntropy, "libtpms added";
// libtpms 0.9.2). While a ManufactureRandom exists, OpenSSL's RAND_bytes returns the stream
// HMAC-SHA-256(seed key, "cvtpm manufacture" || BE64(i)), i = 0, 1, ... (an OpenSSL RAND_METHOD,
// which RAND_bytes_ex uses when one is set: crypto/rand/rand_lib.c); its destructor puts
// OpenSSL's own method back. One at a time; single-threaded use (the firmware; tests).
// Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cvtpm/state/state_keys.h"

namespace cvtpm::state {

class ManufactureRandom {
 public:
  explicit ManufactureRandom(std::span<const std::uint8_t, kKeySize> seed_key);
  ~ManufactureRandom();
  ManufactureRandom(const ManufactureRandom&) = delete;
  ManufactureRandom& operator=(const ManufactureRandom&) = delete;

  // False if the method could not be installed (another one active, or OpenSSL refused): the
  // caller must not manufacture then.
  bool active() const { return active_; }
  // Bytes handed out so far, and whether a block could not be computed (RAND_bytes then failed,
  // which libtpms treats as an entropy failure: manufacture fails).
  std::uint64_t bytes_drawn() const;
  bool failed() const;

 private:
  bool active_ = false;
};

}  // namespace cvtpm::state
