// The PSP's side of SNP guest requests, as far as the firmware sees it (SNP Firmware ABI,
// SNP_GUEST_REQUEST): a VMPCK per VMPL, a sequence number per VMPCK that must advance by exactly
// one per message, AES-256-GCM with the header as additional data, and MSG_REPORT_REQ answered
// with an attestation report signed by a TEST key (vtpm_fw/host's TestAttestationSigner, ECDSA
// P-384), never by an AMD key, and MSG_KEY_REQ answered with a key derived from a model chip
// secret (below). Written independently of the firmware's guest_request.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "cvtpm/vtpm_host/test_signer.h"

namespace cvtpm::snp::model {

class PspModel {
 public:
  PspModel();

  // The keys the launch writes into the secrets page (random per model).
  const std::array<std::uint8_t, 32>& vmpck(unsigned index) const { return vmpcks_.at(index); }

  // What SNP_LAUNCH_FINISH fixed for this launch: the measurement, the policy and, from the ID
  // block when there is one, family ID, image ID and guest SVN (all zero without one).
  struct LaunchFields {
    std::array<std::uint8_t, 48> measurement{};
    std::uint64_t policy = 0x30000;
    std::array<std::uint8_t, 16> family_id{};
    std::array<std::uint8_t, 16> image_id{};
    std::uint32_t guest_svn = 0;
  };
  void set_launch(const LaunchFields& fields) { launch_ = fields; }
  const LaunchFields& launch() const { return launch_; }

  // The chip: MSG_KEY_REQ keys derive from this secret (the PSP's VCEK-rooted derivation is AMD's
  // and not public; the model's is HMAC-SHA-384 over this secret and the request's selected
  // fields, truncated to 32 bytes). Every model has the same chip unless a test sets another.
  void set_chip_secret(const std::array<std::uint8_t, 48>& secret) { chip_secret_ = secret; }
  // The platform's committed TCB (TCB_VERSION layout); requests may not name a higher one.
  void set_committed_tcb(std::uint64_t tcb) { committed_tcb_ = tcb; }
  std::size_t keys_derived() const { return keys_derived_; }

  // Handles the encrypted message in `request` and writes the encrypted answer to `response`.
  // Returns the firmware status (0 = success; the response page is untouched otherwise).
  std::uint32_t handle(std::span<const std::uint8_t, 4096> request,
                       std::span<std::uint8_t, 4096> response);

  // The sequence number the PSP expects next for a VMPCK.
  std::uint64_t expected_sequence(unsigned index) const { return expected_.at(index); }
  const vtpm::host::TestAttestationSigner& signer() const { return signer_; }

  struct Message {
    unsigned vmpck;
    std::uint64_t seqno;
    std::vector<std::uint8_t> bytes;  // header from `algo` on, then the ciphertext and tag
    bool accepted;
  };
  // Every message the PSP received, in order.
  const std::vector<Message>& messages() const { return messages_; }
  std::size_t reports_signed() const { return reports_signed_; }

  static constexpr std::uint32_t kStatusInvalidParameter = 0x16;
  static constexpr std::uint32_t kStatusAuthenticationFailed = 0x1B;

 private:
  std::array<std::array<std::uint8_t, 32>, 4> vmpcks_{};
  std::array<std::uint64_t, 4> expected_{1, 1, 1, 1};
  // MSG_KEY_REQ's payload (decrypted) into the MSG_KEY_RSP payload.
  std::vector<std::uint8_t> derive_key(unsigned requester_vmpl, std::uint8_t version,
                                       std::span<const std::uint8_t> payload);

  LaunchFields launch_;
  std::array<std::uint8_t, 48> chip_secret_{};
  std::uint64_t committed_tcb_ = 0x1B00'0000'0000'0003ULL;  // microcode 0x1B, bootloader 3
  std::size_t keys_derived_ = 0;
  vtpm::host::TestAttestationSigner signer_;
  std::vector<Message> messages_;
  std::size_t reports_signed_ = 0;
};

}  // namespace cvtpm::snp::model
