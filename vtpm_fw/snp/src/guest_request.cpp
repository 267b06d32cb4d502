#include "cvtpm/snp/guest_request.h"

#include <cstring>

#include "cvtpm/crypto/aes_gcm.h"
#include "cvtpm/formats/snp/ghcb.h"
#include "cvtpm/snp/report_check.h"

namespace cvtpm::snp {

namespace fs = formats::snp;
namespace aes_gcm = crypto::aes_gcm;

namespace {

void build_iv(std::uint64_t seqno, std::uint8_t (&iv)[aes_gcm::kIvSize]) {
  std::memset(iv, 0, sizeof iv);
  std::memcpy(iv, &seqno, sizeof seqno);  // little-endian, zero-padded
}

void secure_zero(void* p, std::size_t n) {
  volatile auto* bytes = static_cast<volatile std::uint8_t*>(p);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = 0;
}

fs::GuestMessageHeader& header_of(std::uint8_t* page) {
  return *reinterpret_cast<fs::GuestMessageHeader*>(page);
}

}  // namespace

void GuestRequestChannel::init(std::span<const std::uint8_t, fs::kVmpckSize> vmpck,
                               std::uint8_t vmpck_index, std::uint64_t request_gpa,
                               std::uint64_t response_gpa) {
  std::memcpy(key_, vmpck.data(), sizeof key_);
  index_ = vmpck_index;
  request_gpa_ = request_gpa;
  response_gpa_ = response_gpa;
  seqno_ = 0;
  bool all_zero = true;
  for (std::uint8_t b : key_) all_zero = all_zero && b == 0;
  enabled_ = !all_zero;  // a zeroed VMPCK is one this VMPL may not use
}

void GuestRequestChannel::wipe() {
  secure_zero(key_, sizeof key_);
  secure_zero(staging_, sizeof staging_);
  enabled_ = false;
}

// Copies the staged request to the shared request page and asks the hypervisor to pass it on.
// Re-sends the identical bytes while the hypervisor is busy.
SnpStatus GuestRequestChannel::send(GhcbClient& ghcb) {
  for (unsigned attempt = 0;; ++attempt) {
    {
      Mapping page(ghcb.hardware(), request_gpa_, kPageSize, Encryption::kShared);
      if (!page) return SnpError{"guest request: request page not mapped", request_gpa_};
      std::memcpy(page.data(), staging_, kPageSize);
    }
    const auto result = ghcb.guest_request(request_gpa_, response_gpa_);
    if (!result) return result.error();
    const std::uint64_t info2 = result.value();
    if (info2 == 0) return SnpStatus::success();
    if (fs::guest_request_error::vmm(info2) == fs::guest_request_error::kVmmBusy &&
        fs::guest_request_error::firmware(info2) == 0 && attempt < kBusyRetries) {
      continue;
    }
    return SnpError{"guest request: failed", info2};
  }
}

SnpResult<std::size_t> GuestRequestChannel::exchange(GhcbClient& ghcb, std::uint8_t type,
                                                     std::uint8_t version,
                                                     std::span<const std::uint8_t> payload,
                                                     std::span<std::uint8_t> out) {
  if (!enabled_) return SnpError{"guest request: the VMPCK is not usable"};
  if (payload.size() > fs::kGuestMessageMaxPayload - aes_gcm::kTagSize) {
    return SnpError{"guest request: payload too large", payload.size()};
  }
  if (seqno_ > UINT64_MAX - 2) {
    wipe();
    return SnpError{"guest request: sequence numbers exhausted"};
  }
  const std::uint64_t request_seqno = seqno_ + 1;

  // Build and encrypt in private memory.
  std::memset(staging_, 0, sizeof staging_);
  fs::GuestMessageHeader& request = header_of(staging_);
  request.msg_seqno = request_seqno;
  request.algo = fs::kAeadAes256Gcm;
  request.hdr_version = fs::kGuestMessageHeaderVersion;
  request.hdr_size = sizeof(fs::GuestMessageHeader);
  request.msg_type = type;
  request.msg_version = version;
  request.msg_size = static_cast<std::uint16_t>(payload.size());
  request.msg_vmpck = index_;
  std::uint8_t iv[aes_gcm::kIvSize];
  build_iv(request_seqno, iv);
  if (!aes_gcm::encrypt(
          std::span<const std::uint8_t, aes_gcm::kKeySize>(key_), iv,
          {staging_ + fs::kGuestMessageAadOffset, fs::kGuestMessageAadSize}, payload,
          {staging_ + sizeof(fs::GuestMessageHeader), payload.size()},
          std::span<std::uint8_t, aes_gcm::kTagSize>(request.authtag, aes_gcm::kTagSize))) {
    return SnpError{"guest request: encryption failed"};
  }

  if (SnpStatus s = send(ghcb); !s) {
    // The PSP may or may not have seen this sequence number: never use the key again.
    wipe();
    return s.error();
  }
  seqno_ += 2;

  // One read of the response page into private memory; everything below looks at the copy.
  {
    Mapping page(ghcb.hardware(), response_gpa_, kPageSize, Encryption::kShared);
    if (!page) {
      wipe();
      return SnpError{"guest request: response page not mapped", response_gpa_};
    }
    std::memcpy(staging_, page.data(), kPageSize);
  }
  const fs::GuestMessageHeader& response = header_of(staging_);
  if (response.algo != fs::kAeadAes256Gcm ||
      response.hdr_version != fs::kGuestMessageHeaderVersion ||
      response.hdr_size != sizeof(fs::GuestMessageHeader) || response.msg_type != type + 1 ||
      response.msg_version != version || response.msg_vmpck != index_ ||
      response.msg_seqno != request_seqno + 1 || response.msg_size > fs::kGuestMessageMaxPayload) {
    wipe();
    return SnpError{"guest request: response header does not match the request", response.msg_seqno,
                    response.msg_type};
  }
  const std::size_t size = response.msg_size;
  if (size > out.size()) {
    // Authentic or not, the answer does not fit: the channel itself is still in step.
    return SnpError{"guest request: response larger than the caller's buffer", size, out.size()};
  }
  build_iv(response.msg_seqno, iv);
  if (!aes_gcm::decrypt(
          std::span<const std::uint8_t, aes_gcm::kKeySize>(key_), iv,
          {staging_ + fs::kGuestMessageAadOffset, fs::kGuestMessageAadSize},
          {staging_ + sizeof(fs::GuestMessageHeader), size},
          std::span<const std::uint8_t, aes_gcm::kTagSize>(response.authtag, aes_gcm::kTagSize),
          out.first(size))) {
    wipe();
    return SnpError{"guest request: response does not authenticate", response.msg_seqno};
  }
  secure_zero(staging_, sizeof staging_);
  return size;
}

SnpStatus request_report(GuestRequestChannel& channel, GhcbClient& ghcb,
                         std::span<const std::uint8_t, 64> report_data,
                         fs::AttestationReport& report) {
  fs::ReportRequest request{};
  std::memcpy(request.report_data, report_data.data(), sizeof request.report_data);
  request.vmpl = 0;
  request.key_sel = 0;
  fs::ReportResponse response{};
  const auto size =
      channel.exchange(ghcb, fs::guest_message_type::kReportRequest, fs::kReportRequestVersion,
                       {reinterpret_cast<const std::uint8_t*>(&request), sizeof request},
                       {reinterpret_cast<std::uint8_t*>(&response), sizeof response});
  if (!size) return size.error();
  const auto checked = check_report_response(
      {reinterpret_cast<const std::uint8_t*>(&response), size.value()}, report_data, 0, report);
  if (!checked) {
    return SnpError{describe(checked.error().problem), checked.error().value};
  }
  return SnpStatus::success();
}

SnpStatus request_derived_key(GuestRequestChannel& channel, GhcbClient& ghcb,
                              const fs::KeyRequest& request,
                              std::span<std::uint8_t, fs::kDerivedKeySize> key) {
  fs::KeyResponse response{};
  const auto size =
      channel.exchange(ghcb, fs::guest_message_type::kKeyRequest, fs::kKeyRequestVersion,
                       {reinterpret_cast<const std::uint8_t*>(&request), sizeof request},
                       {reinterpret_cast<std::uint8_t*>(&response), sizeof response});
  if (!size) return size.error();
  SnpStatus result = SnpStatus::success();
  if (size.value() != sizeof response) {
    result = SnpError{"MSG_KEY_RSP: unexpected size", size.value(), sizeof response};
  } else if (response.status != 0) {
    result = SnpError{response.status == fs::kKeyStatusInvalidParameter
                          ? "MSG_KEY_REQ refused: invalid parameters (status 0x16)"
                          : "MSG_KEY_REQ refused",
                      response.status};
  } else {
    std::memcpy(key.data(), response.derived_key, key.size());
  }
  secure_zero(&response, sizeof response);
  return result;
}

}  // namespace cvtpm::snp
