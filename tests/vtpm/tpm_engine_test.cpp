// The libtpms engine: manufacture, the EK from the TCG templates, power cycles with NV state kept
// in memory, one engine per process, and allocation through the platform's allocator.
#include <gtest/gtest.h>

#include <algorithm>

#include "cvtpm/vtpm/ek_template.h"
#include "cvtpm/vtpm/tpm_engine.h"
#include "vtpm_testing.h"

namespace cvtpm::vtpm {
namespace {

using testing::Bytes;
using testing::ByteWriter;
using testing::tpm_rc;

Bytes run(TpmEngine& engine, const Bytes& command) {
  Bytes copy = command;
  auto response = engine.execute(copy, 0);
  if (!response) throw std::runtime_error(describe(response.error().failure));
  return Bytes(response.value().begin(), response.value().end());
}

Bytes ek_of(const TpmEngine& engine) {
  return Bytes(engine.ek_public().begin(), engine.ek_public().end());
}

// TPM2_NV_DefineSpace(owner, index 0x01500000, 8 bytes, owner/auth read+write, no DA).
Bytes nv_define_space() {
  ByteWriter w;
  w.hex("8002 00000000 0000012a 40000001 00000009 40000009 0000 00 0000 0000");
  w.hex("000e 01500000 000b 02060006 0000 0008");
  Bytes b = w.bytes();
  b[5] = static_cast<std::uint8_t>(b.size());
  return b;
}
Bytes nv_read_public() {
  return testing::from_hex("8001 0000000e 00000169 01500000");
}

// The public area's fields before `unique` equal the template's; `unique` holds the key.
void expect_from_template(const Bytes& ek, EkAlgorithm algorithm) {
  const Bytes t = testing::expected_ek_template(algorithm);
  std::size_t template_unique = 0, key_unique = 0;
  switch (algorithm) {
    case EkAlgorithm::kRsa2048:
      template_unique = key_unique = 2 + 256;  // a 2048-bit modulus
      break;
    case EkAlgorithm::kEccP256:
      template_unique = key_unique = 2 + 32 + 2 + 32;
      break;
    case EkAlgorithm::kEccP384:
      template_unique = 4;  // empty x and y in the template
      key_unique = 2 + 48 + 2 + 48;
      break;
  }
  ASSERT_EQ(ek.size() - key_unique, t.size() - template_unique);
  EXPECT_EQ(Bytes(ek.begin(), ek.end() - static_cast<long>(key_unique)),
            Bytes(t.begin(), t.end() - static_cast<long>(template_unique)));
  EXPECT_NE(Bytes(ek.end() - static_cast<long>(key_unique), ek.end()), Bytes(key_unique, 0));
}

class TpmEngineTest : public ::testing::TestWithParam<EkAlgorithm> {};

TEST_P(TpmEngineTest, TheEkIsThePrimaryKeyOfTheTcgTemplate) {
  TpmEngine& engine = testing::shared_engine(GetParam());
  const Bytes ek = ek_of(engine);
  expect_from_template(ek, GetParam());
  EXPECT_EQ(engine.ek_algorithm(), GetParam());

  // The TPM waits for TPM2_Startup, then gives the same key for the same template.
  EXPECT_EQ(tpm_rc(run(engine, testing::tpm_get_random(4))), 0x100u);
  ASSERT_EQ(tpm_rc(run(engine, testing::tpm_startup_clear())), 0u);
  const Bytes created = run(
      engine, testing::tpm_create_primary_endorsement(testing::expected_ek_template(GetParam())));
  ASSERT_EQ(tpm_rc(created), 0u);
  const std::uint16_t size = testing::be16_at(created, 18);
  EXPECT_EQ(Bytes(created.begin() + 20, created.begin() + 20 + size), ek);
  // The EK computation left no object loaded: the TPM has all three slots for the guest.
  EXPECT_EQ(testing::be32_at(created, 10), 0x80000000u);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, TpmEngineTest,
                         ::testing::Values(EkAlgorithm::kRsa2048, EkAlgorithm::kEccP256,
                                           EkAlgorithm::kEccP384),
                         [](const auto& param_info) {
                           std::string name = ek_algorithm_name(param_info.param);
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

TEST(TpmEngine, PowerCyclesKeepTheStateAndManufactureDiscardsIt) {
  TpmEngine& engine = testing::shared_engine();
  const Bytes ek = ek_of(engine);
  ASSERT_TRUE(engine.power_on());
  ASSERT_EQ(tpm_rc(run(engine, testing::tpm_startup_clear())), 0u);
  ASSERT_EQ(tpm_rc(run(engine, nv_define_space())), 0u);
  EXPECT_GT(engine.nv_bytes(), 0u);

  ASSERT_TRUE(engine.power_on());                            // _TPM_Init: NV comes back from memory
  EXPECT_EQ(tpm_rc(run(engine, nv_read_public())), 0x100u);  // not started yet
  ASSERT_EQ(tpm_rc(run(engine, testing::tpm_startup_clear())), 0u);
  EXPECT_EQ(tpm_rc(run(engine, nv_read_public())), 0u);
  EXPECT_EQ(ek_of(engine), ek);

  ASSERT_TRUE(engine.manufacture({EkAlgorithm::kEccP256}));  // a new TPM: new seeds, empty NV
  EXPECT_NE(ek_of(engine), ek);
  ASSERT_EQ(tpm_rc(run(engine, testing::tpm_startup_clear())), 0u);
  EXPECT_EQ(tpm_rc(run(engine, nv_read_public())), 0x18Bu);  // TPM_RC_HANDLE: gone
}

TEST(TpmEngine, PoweredOffEngineRunsNothing) {
  TpmEngine& engine = testing::shared_engine();
  engine.power_off();
  EXPECT_FALSE(engine.powered());
  Bytes command = testing::tpm_get_random(4);
  const std::uint64_t before = engine.commands_executed();
  auto response = engine.execute(command, 0);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().failure, EngineFailure::kPoweredOff);
  EXPECT_EQ(engine.commands_executed(), before);
  ASSERT_TRUE(engine.power_on());
}

TEST(TpmEngine, OnlyOneEngineOwnsLibtpms) {
  TpmEngine& shared = testing::shared_engine();
  host::HostAllocator allocator;
  {
    TpmEngine second(allocator);
    const Status<EngineError> made = second.manufacture({EkAlgorithm::kEccP256});
    ASSERT_FALSE(made);
    EXPECT_EQ(made.error().failure, EngineFailure::kInUse);
    EXPECT_TRUE(shared.powered());

    shared.power_off();
    ASSERT_TRUE(second.manufacture({EkAlgorithm::kEccP256}));
    EXPECT_GT(allocator.live_bytes(), 0u);  // its NV state
    EXPECT_FALSE(shared.power_on());        // now the second one owns libtpms
  }
  EXPECT_EQ(allocator.live_allocations(), 0u);  // everything freed
  ASSERT_TRUE(shared.power_on());
}

TEST(TpmEngine, PowerOnBeforeManufactureFails) {
  host::HostAllocator allocator;
  TpmEngine engine(allocator);
  const Status<EngineError> on = engine.power_on();
  ASSERT_FALSE(on);
  EXPECT_EQ(on.error().failure, EngineFailure::kNotManufactured);
  EXPECT_TRUE(engine.ek_public().empty());
}

TEST(TpmEngine, OutOfMemoryFailsCleanly) {
  testing::shared_engine().power_off();
  host::HostAllocator allocator;
  {
    TpmEngine engine(allocator);
    // No memory for NV state: libtpms enters failure mode, so no EK can be computed.
    allocator.fail_after(0);
    const Status<EngineError> made = engine.manufacture({EkAlgorithm::kEccP256});
    ASSERT_FALSE(made);
    EXPECT_EQ(made.error().failure, EngineFailure::kEkCreation);
    EXPECT_EQ(made.error().code, 0x101u);  // TPM_RC_FAILURE
    EXPECT_FALSE(engine.powered());
    EXPECT_TRUE(engine.ek_public().empty());
    EXPECT_EQ(allocator.live_allocations(), 0u);
    allocator.reset_failures();
    ASSERT_TRUE(engine.manufacture({EkAlgorithm::kEccP256}));
  }
  EXPECT_EQ(allocator.live_allocations(), 0u);
  ASSERT_TRUE(testing::shared_engine().power_on());
}

TEST(TpmEngine, FailuresHaveDescriptions) {
  for (EngineFailure f :
       {EngineFailure::kInUse, EngineFailure::kNotManufactured, EngineFailure::kLibtpms,
        EngineFailure::kBufferSize, EngineFailure::kEkCreation, EngineFailure::kPoweredOff,
        EngineFailure::kResponseTooLarge}) {
    EXPECT_GT(std::string(describe(f)).size(), 10u);
  }
}

TEST(EkTemplate, TemplatesAreTheTcgProfilesBytes) {
  for (EkAlgorithm a : {EkAlgorithm::kRsa2048, EkAlgorithm::kEccP256, EkAlgorithm::kEccP384}) {
    std::uint8_t out[kMaxEkPublicSize];
    const std::size_t size = marshal_ek_template(a, out);
    EXPECT_EQ(Bytes(out, out + size), testing::expected_ek_template(a)) << ek_algorithm_name(a);

    std::uint8_t command[1024];
    const std::size_t command_size = marshal_create_ek_command(a, command);
    EXPECT_EQ(Bytes(command, command + command_size),
              testing::tpm_create_primary_endorsement(testing::expected_ek_template(a)));
  }
}

TEST(EkTemplate, RefusesSmallBuffersAndUnknownAlgorithms) {
  std::uint8_t out[64];
  EXPECT_EQ(marshal_ek_template(EkAlgorithm::kRsa2048, out), 0u);
  EXPECT_EQ(marshal_create_ek_command(EkAlgorithm::kEccP256, out), 0u);
  std::uint8_t big[1024];
  EXPECT_EQ(marshal_ek_template(static_cast<EkAlgorithm>(7), big), 0u);
  EXPECT_STREQ(ek_algorithm_name(static_cast<EkAlgorithm>(7)), "unknown");
  EXPECT_STREQ(ek_algorithm_name(EkAlgorithm::kEccP384), "ecc-p384");
}

}  // namespace
}  // namespace cvtpm::vtpm
