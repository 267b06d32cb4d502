#include "cvtpm/support/digest.h"

#include <openssl/evp.h>

#include <stdexcept>
#include <string>

namespace cvtpm {
namespace {

// OpenSSL failing to hash is not an input problem: it means the library is broken.
[[noreturn]] void crypto_failure(const char* what) {
  throw std::runtime_error(std::string("OpenSSL failure: ") + what);
}

struct MdDeleter {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};
struct CtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// Explicit fetch once per hasher: implicit fetches inside EVP_DigestInit would repeat a
// provider lookup for every page.
struct Hasher {
  explicit Hasher(const char* name)
      : md(EVP_MD_fetch(nullptr, name, nullptr)), ctx(EVP_MD_CTX_new()) {
    if (!md || !ctx) crypto_failure("cannot set up a digest context");
  }
  void init() {
    if (EVP_DigestInit_ex2(ctx.get(), md.get(), nullptr) != 1) crypto_failure("DigestInit");
  }
  void update(std::span<const std::uint8_t> data) {
    if (EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1) crypto_failure("DigestUpdate");
  }
  template <std::size_t N>
  std::array<std::uint8_t, N> finish() {
    std::array<std::uint8_t, N> out{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != N) {
      crypto_failure("DigestFinal");
    }
    return out;
  }
  std::unique_ptr<EVP_MD, MdDeleter> md;
  std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx;
};

template <std::size_t N>
std::array<std::uint8_t, N> one_shot(const char* name, std::span<const std::uint8_t> data) {
  Hasher h(name);
  h.init();
  h.update(data);
  return h.finish<N>();
}

}  // namespace

Sha256Digest sha256(std::span<const std::uint8_t> data) {
  return one_shot<32>("SHA256", data);
}
Sha384Digest sha384(std::span<const std::uint8_t> data) {
  return one_shot<48>("SHA384", data);
}
Sha512Digest sha512(std::span<const std::uint8_t> data) {
  return one_shot<64>("SHA512", data);
}

struct Sha384::State : Hasher {
  State() : Hasher("SHA384") {}
};

Sha384::Sha384() : state_(std::make_unique<State>()) {}
Sha384::~Sha384() = default;

Sha384Digest Sha384::digest(std::span<const std::uint8_t> data) {
  state_->init();
  state_->update(data);
  return state_->finish<48>();
}

struct Sha256::State : Hasher {
  State() : Hasher("SHA256") { init(); }
};

Sha256::Sha256() : state_(std::make_unique<State>()) {}
Sha256::~Sha256() = default;

void Sha256::update(std::span<const std::uint8_t> data) {
  state_->update(data);
}

Sha256Digest Sha256::finish() {
  Sha256Digest out = state_->finish<32>();
  state_->init();
  return out;
}

}  // namespace cvtpm
