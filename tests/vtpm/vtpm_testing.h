// Helpers of the vTPM service tests: byte builders that know nothing of the core's structs (so a
// test compares the service against an independent encoding of the specification), hand-
// assembled TPM 2.0 commands, the process-wide TPM engine, and a fixture that wires a host
// platform and a dispatcher for raw SVSM calls.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cvtpm/vtpm/dispatcher.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "cvtpm/vtpm/tpm_engine.h"
#include "cvtpm/vtpm_host/host_allocator.h"
#include "cvtpm/vtpm_host/host_platform.h"

namespace cvtpm::vtpm::testing {

using Bytes = std::vector<std::uint8_t>;

// Appends integers in an explicit byte order.
class ByteWriter {
 public:
  ByteWriter& u8(std::uint8_t v);
  ByteWriter& le16(std::uint16_t v);
  ByteWriter& le32(std::uint32_t v);
  ByteWriter& le64(std::uint64_t v);
  ByteWriter& be16(std::uint16_t v);
  ByteWriter& be32(std::uint32_t v);
  ByteWriter& raw(std::span<const std::uint8_t> b);
  ByteWriter& zeros(std::size_t n);
  ByteWriter& hex(const std::string& text);
  const Bytes& bytes() const { return bytes_; }

 private:
  Bytes bytes_;
};

Bytes from_hex(const std::string& text);
std::uint16_t be16_at(std::span<const std::uint8_t> b, std::size_t offset);
std::uint32_t be32_at(std::span<const std::uint8_t> b, std::size_t offset);
std::uint32_t le32_at(std::span<const std::uint8_t> b, std::size_t offset);
std::uint64_t le64_at(std::span<const std::uint8_t> b, std::size_t offset);

// --- TPM 2.0 commands (TPM 2.0 Library Part 3), assembled byte by byte -----------------------

Bytes tpm_startup_clear();
Bytes tpm_get_random(std::uint16_t bytes);
// TPM2_PCR_Extend(pcr, sha256 digest) with an empty password session.
Bytes tpm_pcr_extend_sha256(std::uint32_t pcr, std::span<const std::uint8_t, 32> digest);
// TPM2_PCR_Read of one SHA-256 PCR.
Bytes tpm_pcr_read_sha256(std::uint32_t pcr);
// TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES, property, 1).
Bytes tpm_get_property(std::uint32_t property);
// TPM2_CreatePrimary(TPM_RH_ENDORSEMENT) with a TPMT_PUBLIC template given as bytes.
Bytes tpm_create_primary_endorsement(std::span<const std::uint8_t> tpmt_public);
Bytes tpm_flush_context(std::uint32_t handle);

std::uint32_t tpm_rc(std::span<const std::uint8_t> response);
// The SHA-256 PCR value in a TPM2_PCR_Read response.
Bytes pcr_value_from_read(std::span<const std::uint8_t> response);
// The value of the single property in a TPM2_GetCapability(TPM_PROPERTIES) response.
std::uint32_t property_from_response(std::span<const std::uint8_t> response);

// TPM_PT values.
inline constexpr std::uint32_t kPtMaxCommandSize = 0x11E;
inline constexpr std::uint32_t kPtMaxResponseSize = 0x11F;

// The TCG EK templates written out from the EK Credential Profile, independently of the core.
Bytes expected_ek_template(EkAlgorithm algorithm);

// --- SVSM request bytes as Linux's tpm_svsm.h lays them out (packed, little-endian) ----------

Bytes vtpm_send_command_request(std::uint32_t platform_command, std::uint8_t locality,
                                std::uint32_t size, std::span<const std::uint8_t> command);

// --- The process-wide TPM engine (libtpms is one TPM per process) -----------------------------

// Manufactured on first use with the given EK algorithm (re-manufactured if another one is asked
// for), powered on and waiting for TPM2_Startup.
TpmEngine& shared_engine(EkAlgorithm algorithm = EkAlgorithm::kEccP256);
host::HostAllocator& shared_engine_allocator();

// --- A host platform with a dispatcher, for raw calls ------------------------------------------

class ServiceTest : public ::testing::Test {
 protected:
  explicit ServiceTest(host::HostPlatformConfig config = {}, bool with_tpm = true,
                       ServiceConfig service = {});

  // Dispatches RAX = protocol << 32 | call with the given arguments from vCPU 0 (no calling-area
  // handshake; see serve()).
  SvsmRegisters call(Protocol protocol, std::uint32_t call_id, std::uint64_t rcx = 0,
                     std::uint64_t rdx = 0, std::uint64_t r8 = 0, std::uint64_t r9 = 0);
  static SvsmResult result(const SvsmRegisters& regs) { return static_cast<SvsmResult>(regs.rax); }

  std::uint64_t gpa(std::uint64_t offset) const { return platform.config().guest_base + offset; }
  void write_guest(std::uint64_t at, std::span<const std::uint8_t> bytes);
  Bytes read_guest(std::uint64_t at, std::size_t size);

  // Starts the shared TPM from power-on: TPM_Init, then TPM2_Startup(CLEAR) through the SVSM.
  void start_tpm();
  // Sends a TPM command through SVSM_VTPM_CMD at `buffer` and returns the TPM response.
  Bytes tpm(std::span<const std::uint8_t> command, std::uint64_t buffer);

  host::HostPlatform platform;
  TpmEngine* engine;
  std::unique_ptr<Dispatcher> dispatcher;
};

}  // namespace cvtpm::vtpm::testing
