#include "model/psp_model.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

#include "cvtpm/formats/snp/guest_message.h"

namespace cvtpm::snp::model {

namespace fs = formats::snp;

namespace {

// Header fields read from the raw page (offsets of the SNP ABI's message header).
std::uint64_t le(std::span<const std::uint8_t> b, std::size_t offset, std::size_t size) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < size; ++i) v |= std::uint64_t{b[offset + i]} << (8 * i);
  return v;
}

bool gcm(bool encrypt, const std::array<std::uint8_t, 32>& key, std::uint64_t seqno,
         std::span<const std::uint8_t> aad, std::span<const std::uint8_t> in,
         std::span<std::uint8_t> out, std::uint8_t* tag) {
  std::uint8_t iv[12] = {};
  for (int i = 0; i < 8; ++i) iv[i] = static_cast<std::uint8_t>(seqno >> (8 * i));
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok =
      ctx != nullptr &&
      EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), iv, encrypt ? 1 : 0) == 1 &&
      EVP_CipherUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1;
  if (ok && !in.empty()) {
    ok = EVP_CipherUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(in.size())) == 1;
  }
  if (ok && !encrypt) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
  std::uint8_t final_block[16];
  ok = ok && EVP_CipherFinal_ex(ctx, final_block, &len) == 1;
  if (ok && encrypt) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

}  // namespace

PspModel::PspModel() {
  const char chip[] = "cvtpm SNP model chip 0";
  std::memcpy(chip_secret_.data(), chip, sizeof chip);
  for (auto& key : vmpcks_) {
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
      throw std::runtime_error("PspModel: no randomness for the VMPCKs");
    }
  }
}

std::vector<std::uint8_t> PspModel::derive_key(unsigned requester_vmpl, std::uint8_t version,
                                               std::span<const std::uint8_t> payload) {
  fs::KeyResponse rsp{};
  rsp.status = fs::kKeyStatusInvalidParameter;
  auto answer = [&rsp] {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&rsp);
    return std::vector<std::uint8_t>(p, p + sizeof rsp);
  };
  // The model implements message version 1 only (0x20 bytes: go-sev-guest SnpDerivedKeyReqABI;
  // version 2 appends LAUNCH_MIT_VECTOR, virtee/sev DerivedKeyReq). The firmware sends version 1.
  if (version != fs::kKeyRequestVersion || payload.size() != sizeof(fs::KeyRequest))
    return answer();
  fs::KeyRequest req;
  std::memcpy(&req, payload.data(), sizeof req);
  // Each refusal is STATUS 0x16, "Invalid parameters" (virtee/sev DerivedKeyRsp; go-sev-guest
  // SnpDerivedKeyRespABI.Finish: "msg_key_req error: invalid parameters").
  //  - ROOT_KEY_SELECT "is all reserved bits except bit 0" (go-sev-guest SnpDerivedKeyReqABI);
  //    the reserved u32 "Reserved, must be zero" (virtee/sev DerivedKeyReq).
  if ((req.root_key_select & ~std::uint32_t{1}) != 0 || req.reserved != 0) return answer();
  //  - "Only the least-significant 6 bits (Message Version 1) ... are currently defined"
  //    (virtee/snpguest README, `snpguest key`): any other GUEST_FIELD_SELECT bit is refused.
  if ((req.guest_field_select & ~fs::key_field::kVersion1Mask) != 0) return answer();
  //  - VMPL "must be greater than or equal to the current VMPL" (virtee/sev DerivedKeyReq,
  //    go-sev-guest SnpDerivedKeyReq): the requester's VMPL is that of its VMPCK.
  if (req.vmpl < requester_vmpl || req.vmpl > 3) return answer();
  //  - GUEST_SVN "must not exceed the guest SVN provided at launch in the ID block" (virtee/sev;
  //    go-sev-guest: "Must be less than or equal to GuestSVN at launch").
  if (req.guest_svn > launch_.guest_svn) return answer();
  //  - TCB_VERSION "must not exceed CommittedTcb" (virtee/sev; go-sev-guest). The model compares
  //    the eight SVN bytes one by one: how the PSP orders TCB versions is UNKNOWN (not in those
  //    sources); a request that is greater in any byte is refused.
  for (int i = 0; i < 8; ++i) {
    if (((req.tcb_version >> (8 * i)) & 0xFF) > ((committed_tcb_ >> (8 * i)) & 0xFF)) {
      return answer();
    }
  }
  // The model's derivation: HMAC-SHA-384(chip secret, label, root key, VMPL, field select, the
  // selected fields in bit order), truncated to 32 bytes. The requested GUEST_SVN and TCB_VERSION
  // are mixed in, not the launch's (both sources: "The guest SVN to mix into the key").
  std::vector<std::uint8_t> in;
  auto put = [&in](const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    in.insert(in.end(), b, b + n);
  };
  const char label[] = "cvtpm PSP model MSG_KEY_REQ";
  put(label, sizeof label);
  put(&req.root_key_select, 4);
  put(&req.vmpl, 4);
  put(&req.guest_field_select, 8);
  namespace kf = fs::key_field;
  if ((req.guest_field_select & kf::kGuestPolicy) != 0) put(&launch_.policy, 8);
  if ((req.guest_field_select & kf::kImageId) != 0) put(launch_.image_id.data(), 16);
  if ((req.guest_field_select & kf::kFamilyId) != 0) put(launch_.family_id.data(), 16);
  if ((req.guest_field_select & kf::kMeasurement) != 0) put(launch_.measurement.data(), 48);
  if ((req.guest_field_select & kf::kGuestSvn) != 0) put(&req.guest_svn, 4);
  if ((req.guest_field_select & kf::kTcbVersion) != 0) put(&req.tcb_version, 8);
  std::uint8_t mac[48];
  unsigned mac_size = 0;
  if (HMAC(EVP_sha384(), chip_secret_.data(), static_cast<int>(chip_secret_.size()), in.data(),
           in.size(), mac, &mac_size) == nullptr) {
    throw std::runtime_error("PspModel: HMAC failed");
  }
  rsp.status = fs::kKeyStatusSuccess;
  std::memcpy(rsp.derived_key, mac, sizeof rsp.derived_key);
  ++keys_derived_;
  return answer();
}

std::uint32_t PspModel::handle(std::span<const std::uint8_t, 4096> request,
                               std::span<std::uint8_t, 4096> response) {
  constexpr std::size_t kHeader = 0x60;
  constexpr std::size_t kAad = 0x30;
  const std::uint64_t seqno = le(request, 0x20, 8);
  const auto algo = request[0x30];
  const auto hdr_version = request[0x31];
  const auto hdr_size = le(request, 0x32, 2);
  const auto type = request[0x34];
  const auto version = request[0x35];
  const auto size = static_cast<std::size_t>(le(request, 0x36, 2));
  const auto index = request[0x3C];
  Message seen{index,
               seqno,
               {request.begin() + kAad, request.begin() + kHeader + (size < 4000 ? size : 0)},
               false};
  if (algo != 1 || hdr_version != 1 || hdr_size != kHeader || index > 3 || size > 4096 - kHeader ||
      seqno != expected_[index]) {
    messages_.push_back(std::move(seen));
    return kStatusInvalidParameter;
  }
  std::vector<std::uint8_t> plaintext(size);
  std::uint8_t tag[16];
  std::memcpy(tag, request.data(), 16);
  if (!gcm(false, vmpcks_[index], seqno, request.subspan(kAad, kHeader - kAad),
           request.subspan(kHeader, size), plaintext, tag)) {
    messages_.push_back(std::move(seen));
    return kStatusAuthenticationFailed;
  }
  seen.accepted = true;
  messages_.push_back(std::move(seen));
  expected_[index] = seqno + 2;

  // The answer. MSG_REPORT_REQ and MSG_KEY_REQ are implemented; anything else gets an empty
  // answer of the next type, as a status the guest can see.
  std::vector<std::uint8_t> answer;
  if (type == fs::guest_message_type::kKeyRequest) {
    answer = derive_key(index, version, plaintext);
  } else if (type == fs::guest_message_type::kReportRequest && size == sizeof(fs::ReportRequest)) {
    fs::ReportRequest req;
    std::memcpy(&req, plaintext.data(), sizeof req);
    fs::ReportResponse rsp{};
    // The requested VMPL may not be more privileged than the requester's key.
    if (req.vmpl < index || req.vmpl > 3 || (req.key_sel & ~std::uint32_t{3}) != 0) {
      rsp.header.status = fs::kReportStatusInvalidParameter;
    } else {
      vtpm::host::ReportFields fields;
      std::memcpy(fields.measurement.data(), launch_.measurement.data(), 48);
      fields.policy = launch_.policy;
      fields.vmpl = req.vmpl;
      rsp.report = signer_.sign(std::span<const std::uint8_t, 64>(req.report_data, 64), fields);
      rsp.header.report_size = sizeof rsp.report;
      ++reports_signed_;
    }
    answer.assign(reinterpret_cast<const std::uint8_t*>(&rsp),
                  reinterpret_cast<const std::uint8_t*>(&rsp) + sizeof rsp);
  }
  std::memset(response.data(), 0, response.size());
  const std::uint64_t rseq = seqno + 1;
  for (int i = 0; i < 8; ++i) response[0x20 + i] = static_cast<std::uint8_t>(rseq >> (8 * i));
  response[0x30] = 1;
  response[0x31] = 1;
  response[0x32] = kHeader;
  response[0x34] = static_cast<std::uint8_t>(type + 1);
  response[0x35] = version;
  response[0x36] = static_cast<std::uint8_t>(answer.size());
  response[0x37] = static_cast<std::uint8_t>(answer.size() >> 8);
  response[0x3C] = index;
  if (!gcm(true, vmpcks_[index], rseq, response.subspan(kAad, kHeader - kAad), answer,
           response.subspan(kHeader, answer.size()), response.data())) {
    throw std::runtime_error("PspModel: encryption failed");
  }
  return 0;
}

}  // namespace cvtpm::snp::model
