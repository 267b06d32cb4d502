// The native platform's root key for the persistent vTPM state: the INSECURE development key
// (docs/persistence.md, "Keys"), emulating the SNP measurement binding without a PSP:
//   root = HMAC-SHA-256(dev key, "cvtpm INSECURE development key" || SHA-384(firmware code and
//          read-only data as loaded))
// so another firmware build, or another dev key, cannot open the state. The dev key is the
// published default below or the one given with devkey= (cvtpm-launch emulate --dev-key). Anyone
// who has the firmware file and the dev key can compute the root: this is for development and
// tests only, and the firmware says so at every boot. Host-tested.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cvtpm::fw::native {

// SHA-256("cvtpm public development key (INSECURE)").
extern const std::uint8_t kDefaultDevKey[32];

// Fills `root`; false if libcrypto fails.
bool derive_dev_root_key(std::span<const std::uint8_t, 32> dev_key,
                         std::span<const std::uint8_t> firmware_image,
                         std::span<std::uint8_t, 32> root);

}  // namespace cvtpm::fw::native
