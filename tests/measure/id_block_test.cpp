#include "cvtpm/measure/id_block.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstring>

#include "cvtpm/support/error.h"
#include "reference_chain.h"
#include "temp_dir.h"

namespace cvtpm::measure {
namespace {

using testing::TempDir;

// Generates an EC key with OpenSSL and writes it as PEM; returns the path.
std::filesystem::path write_ec_key(const TempDir& dir, const std::string& name, const char* curve) {
  EVP_PKEY* key = EVP_EC_gen(curve);
  if (!key) throw std::runtime_error("EVP_EC_gen");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  auto path = dir.write(name, std::string_view(data, static_cast<std::size_t>(len)));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return path;
}

EVP_PKEY* load_pkey(const std::filesystem::path& path) {
  FILE* f = fopen(path.c_str(), "r");
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  fclose(f);
  return key;
}

BIGNUM* from_le(const std::uint8_t (&le)[72]) {
  return BN_lebin2bn(le, 72, nullptr);
}

// Verifies an SNP-format signature with OpenSSL against the original key, independently of the
// project's verify_snp_signature.
bool openssl_verifies(EVP_PKEY* key, std::span<const std::uint8_t> data,
                      const EcdsaSignature& sig) {
  ECDSA_SIG* s = ECDSA_SIG_new();
  ECDSA_SIG_set0(s, from_le(sig.r), from_le(sig.s));
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(s, &der);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestVerifyInit(ctx, nullptr, EVP_sha384(), nullptr, key);
  int ok = EVP_DigestVerify(ctx, der, static_cast<std::size_t>(der_len), data.data(), data.size());
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  ECDSA_SIG_free(s);
  return ok == 1;
}

void expect_public_key_matches(EVP_PKEY* key, const EcdsaPublicKey& snp) {
  BIGNUM *x = nullptr, *y = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
  ASSERT_EQ(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
  BIGNUM* sx = from_le(snp.qx);
  BIGNUM* sy = from_le(snp.qy);
  EXPECT_EQ(snp.curve, 2u);
  EXPECT_EQ(BN_cmp(x, sx), 0);
  EXPECT_EQ(BN_cmp(y, sy), 0);
  for (BIGNUM* b : {x, y, sx, sy}) BN_free(b);
}

class IdBlockTest : public ::testing::Test {
 protected:
  TempDir dir_;
  std::filesystem::path id_path_ = write_ec_key(dir_, "id.pem", "P-384");
  std::filesystem::path author_path_ = write_ec_key(dir_, "author.pem", "P-384");
};

TEST_F(IdBlockTest, SignsTheBlockAndTheIdKey) {
  IdBlockRequest req;
  for (int i = 0; i < 48; ++i) req.launch_digest[i] = static_cast<std::uint8_t>(i);
  req.family_id[0] = 0xF1;
  req.image_id[15] = 0x1E;
  req.guest_svn = 7;
  req.policy = 0x30000;
  auto id_key = EcP384PrivateKey::load_pem_file(id_path_);
  auto author_key = EcP384PrivateKey::load_pem_file(author_path_);
  SignedIdBlock out = sign_id_block(req, id_key, &author_key);

  // ID block bytes at their ABI offsets.
  auto block = struct_bytes(out.block);
  ASSERT_EQ(block.size(), 0x60u);
  EXPECT_TRUE(std::equal(req.launch_digest.begin(), req.launch_digest.end(), block.begin()));
  EXPECT_EQ(block[0x30], 0xF1);
  EXPECT_EQ(block[0x4F], 0x1E);
  EXPECT_EQ(block[0x50], 1);     // version
  EXPECT_EQ(block[0x54], 7);     // svn
  EXPECT_EQ(block[0x5A], 0x03);  // policy 0x30000

  auto auth = struct_bytes(out.auth);
  EXPECT_EQ(auth[0], 1);  // ID key algorithm: ECDSA P-384 with SHA-384
  EXPECT_EQ(auth[4], 1);  // author key algorithm

  EVP_PKEY* id = load_pkey(id_path_);
  EVP_PKEY* author = load_pkey(author_path_);
  expect_public_key_matches(id, out.auth.id_key);
  expect_public_key_matches(author, out.auth.author_key);
  EXPECT_TRUE(openssl_verifies(id, block, out.auth.id_block_sig));
  EXPECT_TRUE(openssl_verifies(author, auth.subspan(0x240, 0x404), out.auth.id_key_sig));
  EXPECT_FALSE(openssl_verifies(author, block, out.auth.id_block_sig));
  EVP_PKEY_free(id);
  EVP_PKEY_free(author);

  // The digests a report carries: SHA-384 of the 0x404-byte key structures.
  EXPECT_EQ(out.id_key_digest, testing::reference_sha384(auth.subspan(0x240, 0x404)));
  ASSERT_TRUE(out.author_key_digest);
  EXPECT_EQ(*out.author_key_digest, testing::reference_sha384(auth.subspan(0x880, 0x404)));
}

TEST_F(IdBlockTest, WithoutAuthorKeyTheAuthorFieldsStayZero) {
  auto id_key = EcP384PrivateKey::load_pem_file(id_path_);
  SignedIdBlock out = sign_id_block(IdBlockRequest{}, id_key, nullptr);
  EXPECT_FALSE(out.author_key_digest);
  auto auth = struct_bytes(out.auth);
  EXPECT_TRUE(std::all_of(auth.begin() + 0x644, auth.end(), [](std::uint8_t b) { return b == 0; }));
  EXPECT_EQ(auth[4], 0);
}

TEST_F(IdBlockTest, SignaturesAreRandomizedButAllVerify) {
  auto key = EcP384PrivateKey::load_pem_file(id_path_);
  const std::uint8_t msg[] = {1, 2, 3};
  EcdsaSignature a = key.sign(msg), b = key.sign(msg);
  EXPECT_NE(std::memcmp(&a, &b, sizeof a), 0);
  EXPECT_TRUE(verify_snp_signature(key.public_key(), msg, a));
  EXPECT_TRUE(verify_snp_signature(key.public_key(), msg, b));
  const std::uint8_t other[] = {1, 2, 4};
  EXPECT_FALSE(verify_snp_signature(key.public_key(), other, a));
  EcdsaPublicKey wrong = key.public_key();
  wrong.qx[0] ^= 1;  // no longer on the curve
  EXPECT_FALSE(verify_snp_signature(wrong, msg, a));
}

TEST_F(IdBlockTest, RejectsKeysThatAreNotP384) {
  auto p256 = write_ec_key(dir_, "p256.pem", "P-256");
  try {
    EcP384PrivateKey::load_pem_file(p256);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              p256.string() + ": EC key on curve 'prime256v1', but SNP needs P-384 (secp384r1)");
  }
  auto junk = dir_.write("junk.pem", "not a key");
  EXPECT_THROW(EcP384PrivateKey::load_pem_file(junk), InputError);
  EXPECT_THROW(EcP384PrivateKey::load_pem_file(dir_ / "missing.pem"), InputError);
}

}  // namespace
}  // namespace cvtpm::measure
