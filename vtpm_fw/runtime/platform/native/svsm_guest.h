// The guest's side of the SVSM protocols on the native platform. Natively there is no guest VMPL
// and no VMGEXIT: the firmware's own transport plays the guest — TPM commands from the serial link
// are written into a guest page and served by the same dispatcher call a VMGEXIT from a guest vCPU
// leads to on SNP (Dispatcher::serve_pending with the vCPU's calling area), the way Linux's
// tpm_svsm driver (SVSM_VTPM_CMD) and configfs-tsm (SVSM_ATTEST_*) issue them: call_pending set
// before the call and checked to be cleared after it, the TPM_SEND_COMMAND request written at the
// buffer's start and the response read back from it, the attestation operation in the calling
// area. Host-testable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cvtpm/vtpm/dispatcher.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "platform/native/vtpm_platform.h"

namespace cvtpm::fw::native {

// The guest pages the native "guest" uses, one page each.
struct GuestArea {
  static constexpr std::size_t kPages = 6;
  std::uint64_t calling_area;  // vCPU 0's calling area (attestation operations in its buffer)
  std::uint64_t tpm_buffer;    // the TPM driver's request/response page
  std::uint64_t nonce;         // attestation nonce
  std::uint64_t report;        // attestation report buffer
  std::uint64_t manifest;      // services manifest buffer
  std::uint64_t scratch;       // free for the self-test (a PVALIDATE list)

  // kPages pages ending at `end` (page aligned), in the order above.
  static constexpr GuestArea ending_at(std::uint64_t end) {
    const std::uint64_t base = end - kPages * vtpm::kPageSize;
    return {base, base + 0x1000, base + 0x2000, base + 0x3000, base + 0x4000, base + 0x5000};
  }
  std::uint64_t start() const { return calling_area; }
  std::uint64_t end() const { return calling_area + kPages * vtpm::kPageSize; }
};

class SvsmGuest {
 public:
  SvsmGuest(vtpm::Dispatcher& dispatcher, NativeVtpmPlatform& platform, const GuestArea& area)
      : dispatcher_(dispatcher), platform_(platform), area_(area) {}

  struct Call {
    vtpm::SvsmRegisters regs;  // after the call
    bool served;               // the SVSM took the call and cleared call_pending
  };
  // One call from vCPU 0, reissued while the SVSM answers INCOMPLETE or BUSY (bounded).
  Call call(const vtpm::SvsmRegisters& in);

  // SVSM_VTPM_QUERY succeeds and offers TPM_SEND_COMMAND (what Linux probes).
  bool probe_vtpm();

  struct TpmExchange {
    vtpm::SvsmResult result;  // RAX of SVSM_VTPM_CMD
    std::size_t size;         // response bytes copied to `response` (result kSuccess)
    bool malformed;           // the call was not served, or the response size is impossible
  };
  // One TPM_SEND_COMMAND (command.size() <= kMaxTpmCommandSize; larger ones are refused as
  // malformed without a call). The response goes to `response`.
  TpmExchange send_tpm_command(std::span<const std::uint8_t> command, std::uint8_t locality,
                               std::span<std::uint8_t> response);
  // The TPM_SEND_COMMAND request header the last send_tpm_command() wrote.
  std::span<const std::uint8_t> last_request_header() const { return last_header_; }

  struct Attestation {
    vtpm::SvsmResult result;
    bool malformed;  // not served, or sizes beyond the buffers
    // Views of the guest pages (valid until the next call), filled on success.
    std::span<const std::uint8_t> report;
    std::span<const std::uint8_t> manifest;
    std::span<const std::uint8_t> certificates;
  };
  // SVSM_ATTEST_SINGLE_SERVICE of the vTPM (manifest version 0) or SVSM_ATTEST_SERVICES, with a
  // one-page report and manifest buffer and no certificates buffer.
  Attestation attest(bool single_service,
                     std::span<const std::uint8_t, vtpm::kAttestNonceSize> nonce);

  const GuestArea& area() const { return area_; }
  NativeVtpmPlatform& platform() { return platform_; }
  vtpm::Dispatcher& dispatcher() { return dispatcher_; }

 private:
  vtpm::Dispatcher& dispatcher_;
  NativeVtpmPlatform& platform_;
  GuestArea area_;
  std::uint8_t last_header_[sizeof(vtpm::TpmSendCommandRequest)] = {};
};

}  // namespace cvtpm::fw::native
