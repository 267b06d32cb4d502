#include "cvtpm/state/state_keys.h"

#include "cvtpm/crypto/hkdf.h"

namespace cvtpm::state {
namespace {

template <std::size_t N>
constexpr std::span<const std::uint8_t> label(const char (&text)[N]) {
  // Without the terminating NUL: the labels are byte strings.
  return {reinterpret_cast<const std::uint8_t*>(text), N - 1};
}

}  // namespace

void StateKeys::wipe() {
  crypto::wipe(seal, sizeof seal);
  crypto::wipe(seed, sizeof seed);
  crypto::wipe(key_check, sizeof key_check);
}

bool derive_state_keys(std::span<const std::uint8_t, kRootKeySize> root, Binding binding,
                       StateKeys& keys) {
  std::uint8_t prk[crypto::kSha256Size];
  const std::span<const std::uint8_t> seal_info[] = {label("seal")};
  const std::span<const std::uint8_t> seed_info[] = {label("tpm seeds")};
  const std::span<const std::uint8_t> check_info[] = {label("key check")};
  const bool ok = crypto::hkdf_extract(label("cvtpm vTPM state v1"), root, prk) &&
                  crypto::hkdf_expand(prk, seal_info, keys.seal) &&
                  crypto::hkdf_expand(prk, seed_info, keys.seed) &&
                  crypto::hkdf_expand(prk, check_info, keys.key_check);
  crypto::wipe(prk, sizeof prk);
  keys.binding = ok ? binding : Binding::kNone;
  if (!ok) keys.wipe();
  return ok;
}

const char* binding_name(Binding binding) {
  switch (binding) {
    case Binding::kNone:
      return "none";
    case Binding::kDevelopment:
      return "development (INSECURE)";
    case Binding::kMeasurement:
      return "measurement";
    case Binding::kIdentity:
      return "identity";
  }
  return "unknown";
}

}  // namespace cvtpm::state
