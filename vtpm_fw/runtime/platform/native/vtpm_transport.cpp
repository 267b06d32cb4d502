#include "platform/native/vtpm_transport.h"

#include <cstring>

#include "console/log.h"
#include "cvtpm/formats/endian.h"
#include "cvtpm/vtpm/tpm2_wire.h"

namespace cvtpm::fw::native {

namespace swtpm = transport::swtpm;
using formats::load_be;
using formats::store_be;

namespace {

constexpr std::uint8_t kMaxLocality = 4;

const char* result_name(vtpm::SvsmResult result) {
  switch (result) {
    case vtpm::SvsmResult::kSuccess:
      return "SVSM_SUCCESS";
    case vtpm::SvsmResult::kInvalidParameter:
      return "SVSM_ERR_INVALID_PARAMETER";
    case vtpm::SvsmResult::kInvalidAddress:
      return "SVSM_ERR_INVALID_ADDRESS";
    case vtpm::SvsmResult::kInvalidRequest:
      return "SVSM_ERR_INVALID_REQUEST";
    case vtpm::SvsmResult::kBusy:
      return "SVSM_ERR_BUSY";
    case vtpm::SvsmResult::kUnsupportedProtocol:
      return "SVSM_ERR_UNSUPPORTED_PROTOCOL";
    case vtpm::SvsmResult::kUnsupportedCall:
      return "SVSM_ERR_UNSUPPORTED_CALL";
    default:
      return "SVSM error";
  }
}

}  // namespace

std::size_t VtpmTransportHandler::execute(std::span<const std::uint8_t> command,
                                          std::span<std::uint8_t> response) {
  if (command.size() > vtpm::kMaxTpmCommandSize) {
    return transport::encode_error_response(vtpm::tpm2::kRcCommandSize, response);
  }
  ++stats_.commands;
  const SvsmGuest::TpmExchange exchange = guest_.send_tpm_command(command, locality_, response);
  std::size_t size = exchange.size;
  if (exchange.malformed) {
    ++stats_.malformed;
    log::error("tpm: the SVSM answered SVSM_VTPM_CMD with %s and an unusable response",
               result_name(exchange.result));
    size = transport::encode_error_response(vtpm::tpm2::kRcFailure, response);
  } else if (exchange.result != vtpm::SvsmResult::kSuccess) {
    ++stats_.svsm_errors;
    const bool locality_refused =
        exchange.result == vtpm::SvsmResult::kInvalidParameter && locality_ != 0;
    size = transport::encode_error_response(
        locality_refused ? vtpm::tpm2::kRcLocality : vtpm::tpm2::kRcFailure, response);
  }
  if (log::level() >= log::Level::kDebug) {
    const std::uint8_t* h = guest_.last_request_header().data();
    log::debug(
        "tpm: TPM_CC 0x%08x, %zu bytes, locality %u -> SVSM_VTPM_CMD RAX=0x%lx RCX=0x%lx request "
        "header %02x%02x%02x%02x%02x%02x%02x%02x%02x -> %s, response %zu bytes, TPM_RC 0x%08x",
        load_be<std::uint32_t>(command.data() + 6), command.size(), locality_,
        static_cast<unsigned long>(vtpm::call_rax(vtpm::Protocol::kVtpm, vtpm::vtpm_call::kCmd)),
        static_cast<unsigned long>(guest_.area().tpm_buffer), h[0], h[1], h[2], h[3], h[4], h[5],
        h[6], h[7], h[8], result_name(exchange.result), size,
        size >= vtpm::tpm2::kHeaderSize ? load_be<std::uint32_t>(response.data() + 6) : 0u);
  }
  return size;
}

std::size_t VtpmTransportHandler::control(const swtpm::Request& request,
                                          std::span<std::uint8_t> response) {
  switch (request.code) {
    case swtpm::kGetCapability:
      return swtpm::encode_capability(kCapabilities, response);
    case swtpm::kInit: {
      // _TPM_Init with the NV state kept (a platform reset; no SVSM call exists for it). Nothing
      // volatile is ever saved, so PTM_INIT_FLAG_DELETE_VOLATILE has nothing to delete.
      const vtpm::Status<vtpm::EngineError> on = engine_.power_on();
      if (on) {
        log::info("tpm: CMD_INIT: TPM reset, waiting for TPM2_Startup");
      } else {
        log::error("tpm: CMD_INIT: %s (0x%x)", vtpm::describe(on.error().failure), on.error().code);
      }
      return swtpm::encode_result(on ? swtpm::kSuccess : swtpm::kFail, response);
    }
    case swtpm::kShutdown:
    case swtpm::kStop:
      // swtpm exits on SHUTDOWN; a firmware does not stop because a host client says so: the TPM
      // powers off until CMD_INIT (TPM commands get TPM_RC_FAILURE meanwhile).
      engine_.power_off();
      log::info("tpm: %s: TPM powered off until CMD_INIT",
                request.code == swtpm::kStop ? "CMD_STOP" : "CMD_SHUTDOWN");
      return swtpm::encode_result(swtpm::kSuccess, response);
    case swtpm::kGetTpmEstablished:
      // No locality 3/4 ever reaches this TPM, so tpmEstablished is never set.
      return swtpm::encode_established(swtpm::kSuccess, false, response);
    case swtpm::kResetTpmEstablished:
      // QEMU requires this for a TPM 2 (tpm_emulator_check_caps). The flag is never set (above),
      // so resetting it changes nothing; the locality is checked as swtpm does (ctrlchannel.c).
      return swtpm::encode_result(
          request.payload[0] > kMaxLocality ? swtpm::kBadLocality : swtpm::kSuccess, response);
    case swtpm::kSetLocality:
      if (request.payload[0] > kMaxLocality) {
        return swtpm::encode_result(swtpm::kBadLocality, response);
      }
      locality_ = request.payload[0];
      return swtpm::encode_result(swtpm::kSuccess, response);
    case swtpm::kCancelTpmCommand:
      return swtpm::encode_result(swtpm::kSuccess, response);
    case swtpm::kGetConfig:
      return swtpm::encode_config(swtpm::kSuccess, 0, response);
    case swtpm::kSetBufferSize:
      // Fixed by the SVSM buffer, whatever is asked.
      return swtpm::encode_buffer_size(swtpm::kSuccess, vtpm::TpmEngine::kBufferSize,
                                       vtpm::TpmEngine::kBufferSize, vtpm::TpmEngine::kBufferSize,
                                       response);
    case swtpm::kCvtpmAttest:
      return attest(request.payload, response);
    default:
      log::warn("tpm: control command 0x%x has no SVSM path", request.code);
      return swtpm::encode_result(swtpm::kFail, response);
  }
}

std::size_t VtpmTransportHandler::attest(std::span<const std::uint8_t> payload,
                                         std::span<std::uint8_t> response) {
  constexpr std::size_t kHead = 4 + 8 + 3 * 4;
  const std::uint8_t mode = payload[0];
  if (mode > 1) return swtpm::encode_result(swtpm::kBadParameter, response);
  ++stats_.attestations;
  const SvsmGuest::Attestation a =
      guest_.attest(mode == 1, payload.subspan(1).first<vtpm::kAttestNonceSize>());
  if (a.malformed) {
    ++stats_.malformed;
    log::error("tpm: the SVSM answered an attestation call with %s and unusable sizes",
               result_name(a.result));
  }
  const bool ok = a.result == vtpm::SvsmResult::kSuccess && !a.malformed;
  const std::size_t total = kHead + a.report.size() + a.manifest.size() + a.certificates.size();
  if (response.size() < total) return swtpm::encode_result(swtpm::kFail, response);
  std::uint8_t* out = response.data();
  store_be<std::uint32_t>(out, ok ? swtpm::kSuccess : swtpm::kFail);
  store_be<std::uint64_t>(out + 4, static_cast<std::uint64_t>(a.result));
  store_be<std::uint32_t>(out + 12, static_cast<std::uint32_t>(a.report.size()));
  store_be<std::uint32_t>(out + 16, static_cast<std::uint32_t>(a.manifest.size()));
  store_be<std::uint32_t>(out + 20, static_cast<std::uint32_t>(a.certificates.size()));
  std::size_t at = kHead;
  for (const std::span<const std::uint8_t> part : {a.report, a.manifest, a.certificates}) {
    if (!part.empty()) std::memcpy(out + at, part.data(), part.size());
    at += part.size();
  }
  log::debug("tpm: attestation (%s) -> %s, report %zu bytes, manifest %zu bytes",
             mode == 1 ? "single service" : "services", result_name(a.result), a.report.size(),
             a.manifest.size());
  return at;
}

}  // namespace cvtpm::fw::native
