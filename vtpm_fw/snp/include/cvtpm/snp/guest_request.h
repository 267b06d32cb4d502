// SNP guest requests with a VMPCK (formats/snp/guest_message.h): the firmware's private channel
// to the PSP through the hypervisor. Messages are built and authenticated in private memory and
// only copied to and from the two shared pages the hypervisor sees.
//
// Sequence numbers: request n carries seqno n, the PSP answers with n + 1 and expects n + 2 next.
// The sequence number is the AES-GCM IV, so it must never be used twice with different
// contents: a request the PSP may have seen (anything but a hypervisor "busy", which is retried
// with the identical bytes) consumes its number, and any failure that leaves the channel's state
// in doubt (the hypervisor failing the exit, a response that does not authenticate, a replayed or
// mismatched response) wipes the key: no further request, as Linux and COCONUT-SVSM do.
// Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cvtpm/formats/snp/attestation_report.h"
#include "cvtpm/formats/snp/guest_message.h"
#include "cvtpm/formats/snp/secrets_page.h"
#include "cvtpm/snp/ghcb_client.h"
#include "cvtpm/snp/status.h"

namespace cvtpm::snp {

class GuestRequestChannel {
 public:
  GuestRequestChannel() = default;
  ~GuestRequestChannel() { wipe(); }
  GuestRequestChannel(const GuestRequestChannel&) = delete;
  GuestRequestChannel& operator=(const GuestRequestChannel&) = delete;

  // `request_gpa`, `response_gpa`: shared pages, mapped without the C-bit. The key is copied.
  void init(std::span<const std::uint8_t, formats::snp::kVmpckSize> vmpck, std::uint8_t vmpck_index,
            std::uint64_t request_gpa, std::uint64_t response_gpa);
  bool usable() const { return enabled_; }
  // The sequence number of the last message the PSP answered (0 before the first).
  std::uint64_t last_sequence() const { return seqno_; }

  // Sends `payload` as message `type`/`version` and decrypts the answer (type + 1) into `out`;
  // returns the answer's size.
  SnpResult<std::size_t> exchange(GhcbClient& ghcb, std::uint8_t type, std::uint8_t version,
                                  std::span<const std::uint8_t> payload,
                                  std::span<std::uint8_t> out);

  // The number of times a request is re-sent while the hypervisor answers "busy".
  static constexpr unsigned kBusyRetries = 16;

 private:
  void wipe();
  SnpStatus send(GhcbClient& ghcb);

  std::uint8_t key_[formats::snp::kVmpckSize] = {};
  std::uint8_t index_ = 0;
  bool enabled_ = false;
  std::uint64_t seqno_ = 0;
  std::uint64_t request_gpa_ = 0;
  std::uint64_t response_gpa_ = 0;
  alignas(16) std::uint8_t staging_[formats::snp::kGuestMessagePageSize] = {};
};

// MSG_REPORT_REQ for a VMPL0 report carrying `report_data`; the answer is checked
// (check_report_response) and the report copied to `report`.
SnpStatus request_report(GuestRequestChannel& channel, GhcbClient& ghcb,
                         std::span<const std::uint8_t, 64> report_data,
                         formats::snp::AttestationReport& report);

// MSG_KEY_REQ: the key the PSP derives for `request` (its VMPL, root key and selected fields),
// into `key`. A non-zero STATUS, or an answer of another size, is an error naming it; the
// decrypted answer is wiped before returning. `key` is written only on success.
SnpStatus request_derived_key(GuestRequestChannel& channel, GhcbClient& ghcb,
                              const formats::snp::KeyRequest& request,
                              std::span<std::uint8_t, formats::snp::kDerivedKeySize> key);

}  // namespace cvtpm::snp
