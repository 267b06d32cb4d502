#include "platform/native/dev_state_key.h"

#include "cvtpm/crypto/hkdf.h"

namespace cvtpm::fw::native {

const std::uint8_t kDefaultDevKey[32] = {
    0x97, 0x1c, 0xcb, 0x2c, 0x6c, 0xea, 0xd2, 0x5a, 0xed, 0x3d, 0x47, 0x4f, 0x14, 0x46, 0x69, 0x22,
    0xb8, 0x0f, 0x6d, 0x41, 0x29, 0xd3, 0xfa, 0xfb, 0x9a, 0xdd, 0x00, 0x43, 0x2c, 0xea, 0x09, 0xda};

bool derive_dev_root_key(std::span<const std::uint8_t, 32> dev_key,
                         std::span<const std::uint8_t> firmware_image,
                         std::span<std::uint8_t, 32> root) {
  static constexpr char kLabel[] = "cvtpm INSECURE development key";
  std::uint8_t measurement[crypto::kSha384Size];
  if (!crypto::sha384(firmware_image, measurement)) return false;
  const std::span<const std::uint8_t> message[] = {
      {reinterpret_cast<const std::uint8_t*>(kLabel), sizeof kLabel - 1}, measurement};
  return crypto::hmac_sha256(dev_key, message, root);
}

}  // namespace cvtpm::fw::native
