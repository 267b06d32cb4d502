#include "vtpm_testing.h"

#include <cstring>
#include <stdexcept>

namespace cvtpm::vtpm::testing {

ByteWriter& ByteWriter::u8(std::uint8_t v) {
  bytes_.push_back(v);
  return *this;
}
ByteWriter& ByteWriter::le16(std::uint16_t v) {
  return u8(static_cast<std::uint8_t>(v)).u8(static_cast<std::uint8_t>(v >> 8));
}
ByteWriter& ByteWriter::le32(std::uint32_t v) {
  return le16(static_cast<std::uint16_t>(v)).le16(static_cast<std::uint16_t>(v >> 16));
}
ByteWriter& ByteWriter::le64(std::uint64_t v) {
  return le32(static_cast<std::uint32_t>(v)).le32(static_cast<std::uint32_t>(v >> 32));
}
ByteWriter& ByteWriter::be16(std::uint16_t v) {
  return u8(static_cast<std::uint8_t>(v >> 8)).u8(static_cast<std::uint8_t>(v));
}
ByteWriter& ByteWriter::be32(std::uint32_t v) {
  return be16(static_cast<std::uint16_t>(v >> 16)).be16(static_cast<std::uint16_t>(v));
}
ByteWriter& ByteWriter::raw(std::span<const std::uint8_t> b) {
  bytes_.insert(bytes_.end(), b.begin(), b.end());
  return *this;
}
ByteWriter& ByteWriter::zeros(std::size_t n) {
  bytes_.insert(bytes_.end(), n, 0);
  return *this;
}
ByteWriter& ByteWriter::hex(const std::string& text) {
  return raw(from_hex(text));
}

Bytes from_hex(const std::string& text) {
  Bytes out;
  std::string digits;
  for (char c : text) {
    if (c != ' ' && c != '\n') digits.push_back(c);
  }
  if (digits.size() % 2 != 0) throw std::invalid_argument("odd hex");
  for (std::size_t i = 0; i < digits.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

namespace {
std::uint8_t byte_at(std::span<const std::uint8_t> b, std::size_t o) {
  if (o >= b.size())
    throw std::out_of_range("byte " + std::to_string(o) + " of " + std::to_string(b.size()));
  return b[o];
}
}  // namespace

std::uint16_t be16_at(std::span<const std::uint8_t> b, std::size_t o) {
  return static_cast<std::uint16_t>(byte_at(b, o) << 8 | byte_at(b, o + 1));
}
std::uint32_t be32_at(std::span<const std::uint8_t> b, std::size_t o) {
  return std::uint32_t{be16_at(b, o)} << 16 | be16_at(b, o + 2);
}
std::uint32_t le32_at(std::span<const std::uint8_t> b, std::size_t o) {
  return std::uint32_t{byte_at(b, o)} | std::uint32_t{byte_at(b, o + 1)} << 8 |
         std::uint32_t{byte_at(b, o + 2)} << 16 | std::uint32_t{byte_at(b, o + 3)} << 24;
}
std::uint64_t le64_at(std::span<const std::uint8_t> b, std::size_t o) {
  return std::uint64_t{le32_at(b, o)} | std::uint64_t{le32_at(b, o + 4)} << 32;
}

namespace {

// Sets the header's size field to the final length.
Bytes finish(ByteWriter& w) {
  Bytes b = w.bytes();
  const auto size = static_cast<std::uint32_t>(b.size());
  b.at(2) = static_cast<std::uint8_t>(size >> 24);
  b.at(3) = static_cast<std::uint8_t>(size >> 16);
  b.at(4) = static_cast<std::uint8_t>(size >> 8);
  b.at(5) = static_cast<std::uint8_t>(size);
  return b;
}

// An empty password session (TPMS_AUTH_COMMAND for TPM_RS_PW), with its size prefix.
void password_session(ByteWriter& w) {
  w.be32(9).be32(0x40000009).be16(0).u8(0).be16(0);
}

}  // namespace

Bytes tpm_startup_clear() {
  return from_hex("8001 0000000c 00000144 0000");
}

Bytes tpm_get_random(std::uint16_t bytes) {
  ByteWriter w;
  w.be16(0x8001).be32(0).be32(0x17B).be16(bytes);
  return finish(w);
}

Bytes tpm_pcr_extend_sha256(std::uint32_t pcr, std::span<const std::uint8_t, 32> digest) {
  ByteWriter w;
  w.be16(0x8002).be32(0).be32(0x182).be32(pcr);
  password_session(w);
  w.be32(1).be16(0x000B).raw(digest);  // TPML_DIGEST_VALUES: one SHA-256 digest
  return finish(w);
}

Bytes tpm_pcr_read_sha256(std::uint32_t pcr) {
  ByteWriter w;
  w.be16(0x8001).be32(0).be32(0x17E);
  std::uint8_t select[3] = {};
  select[pcr / 8] = static_cast<std::uint8_t>(1u << (pcr % 8));
  w.be32(1).be16(0x000B).u8(3).raw(select);  // TPML_PCR_SELECTION
  return finish(w);
}

Bytes tpm_get_property(std::uint32_t property) {
  ByteWriter w;
  w.be16(0x8001).be32(0).be32(0x17A).be32(6 /* TPM_CAP_TPM_PROPERTIES */).be32(property).be32(1);
  return finish(w);
}

Bytes tpm_create_primary_endorsement(std::span<const std::uint8_t> tpmt_public) {
  ByteWriter w;
  w.be16(0x8002).be32(0).be32(0x131).be32(0x4000000B);
  password_session(w);
  w.be16(4).be16(0).be16(0);                                                // inSensitive
  w.be16(static_cast<std::uint16_t>(tpmt_public.size())).raw(tpmt_public);  // inPublic
  w.be16(0);                                                                // outsideInfo
  w.be32(0);                                                                // creationPCR
  return finish(w);
}

Bytes tpm_flush_context(std::uint32_t handle) {
  ByteWriter w;
  w.be16(0x8001).be32(0).be32(0x165).be32(handle);
  return finish(w);
}

std::uint32_t tpm_rc(std::span<const std::uint8_t> response) {
  if (response.size() < 10) throw std::invalid_argument("TPM response shorter than a header");
  return be32_at(response, 6);
}

Bytes pcr_value_from_read(std::span<const std::uint8_t> response) {
  // header, pcrUpdateCounter, TPML_PCR_SELECTION (count + one 6-byte selection), TPML_DIGEST
  // count, then one TPM2B_DIGEST.
  constexpr std::size_t kDigest = 10 + 4 + 10 + 4;
  const std::uint16_t size = be16_at(response, kDigest);
  return Bytes(response.begin() + kDigest + 2, response.begin() + kDigest + 2 + size);
}

std::uint32_t property_from_response(std::span<const std::uint8_t> response) {
  // header, moreData, capability, count, then (property, value) pairs.
  return be32_at(response, 10 + 1 + 4 + 4 + 4);
}

Bytes expected_ek_template(EkAlgorithm algorithm) {
  // TCG EK Credential Profile for TPM Family 2.0, appendix B: templates L-1, L-2 and H-3.
  const std::string policy_a_sha256 =
      "837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa";
  const std::string policy_b_sha384 =
      "b26e7d28d11a50bc53d882bcf5fd3a1a074148bb35d3b4e4cb1c0ad9bde419ca"
      "cb47ba09699646150f9fc000f3f80e12";
  ByteWriter w;
  switch (algorithm) {
    case EkAlgorithm::kRsa2048:
      w.hex("0001 000b 000300b2 0020").hex(policy_a_sha256);
      w.hex("0006 0080 0043 0010 0800 00000000 0100").zeros(256);
      break;
    case EkAlgorithm::kEccP256:
      w.hex("0023 000b 000300b2 0020").hex(policy_a_sha256);
      w.hex("0006 0080 0043 0010 0003 0010 0020").zeros(32).hex("0020").zeros(32);
      break;
    case EkAlgorithm::kEccP384:
      w.hex("0023 000c 000300f2 0030").hex(policy_b_sha384);
      w.hex("0006 0100 0043 0010 0004 0010 0000 0000");
      break;
  }
  return w.bytes();
}

Bytes vtpm_send_command_request(std::uint32_t platform_command, std::uint8_t locality,
                                std::uint32_t size, std::span<const std::uint8_t> command) {
  ByteWriter w;
  w.le32(platform_command).u8(locality).le32(size).raw(command);
  return w.bytes();
}

host::HostAllocator& shared_engine_allocator() {
  static host::HostAllocator allocator;
  return allocator;
}

TpmEngine& shared_engine(EkAlgorithm algorithm) {
  static TpmEngine engine(shared_engine_allocator());
  static bool manufactured = false;
  if (!manufactured || engine.ek_algorithm() != algorithm) {
    const Status<EngineError> made = engine.manufacture({algorithm});
    if (!made) {
      throw std::runtime_error(std::string("manufacturing the test TPM failed: ") +
                               describe(made.error().failure));
    }
    manufactured = true;
  } else if (!engine.powered()) {
    if (!engine.power_on()) throw std::runtime_error("powering on the test TPM failed");
  }
  return engine;
}

ServiceTest::ServiceTest(host::HostPlatformConfig config, bool with_tpm, ServiceConfig service)
    : platform(std::move(config)), engine(with_tpm ? &shared_engine() : nullptr) {
  dispatcher = std::make_unique<Dispatcher>(platform, engine, service);
}

SvsmRegisters ServiceTest::call(Protocol protocol, std::uint32_t call_id, std::uint64_t rcx,
                                std::uint64_t rdx, std::uint64_t r8, std::uint64_t r9) {
  SvsmRegisters regs{call_rax(protocol, call_id), rcx, rdx, r8, r9};
  dispatcher->dispatch(CallContext{0, platform.vcpus().at(0).caa_gpa}, regs);
  return regs;
}

void ServiceTest::write_guest(std::uint64_t at, std::span<const std::uint8_t> bytes) {
  auto target = platform.guest_bytes(at, bytes.size());
  std::memcpy(target.data(), bytes.data(), bytes.size());
}

Bytes ServiceTest::read_guest(std::uint64_t at, std::size_t size) {
  auto source = platform.guest_bytes(at, size);
  return Bytes(source.begin(), source.end());
}

void ServiceTest::start_tpm() {
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(engine->power_on());
  const Bytes response = tpm(tpm_startup_clear(), gpa(0x1000));
  ASSERT_EQ(tpm_rc(response), 0u);
}

Bytes ServiceTest::tpm(std::span<const std::uint8_t> command, std::uint64_t buffer) {
  write_guest(buffer,
              vtpm_send_command_request(8, 0, static_cast<std::uint32_t>(command.size()), command));
  const SvsmRegisters out = call(Protocol::kVtpm, 1, buffer);
  EXPECT_EQ(result(out), SvsmResult::kSuccess);
  const std::uint32_t size = le32_at(read_guest(buffer, 4), 0);
  EXPECT_LE(size, 4092u);
  return read_guest(buffer + 4, size);
}

}  // namespace cvtpm::vtpm::testing
