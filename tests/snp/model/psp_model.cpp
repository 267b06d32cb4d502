#include "model/psp_model.h"

#include <openssl/evp.h>
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
  for (auto& key : vmpcks_) {
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
      throw std::runtime_error("PspModel: no randomness for the VMPCKs");
    }
  }
}

void PspModel::set_launch(std::span<const std::uint8_t, 48> measurement, std::uint64_t policy) {
  std::memcpy(measurement_.data(), measurement.data(), 48);
  policy_ = policy;
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

  // The answer. Only MSG_REPORT_REQ is implemented; anything else gets an empty answer of the
  // next type, as a status the guest can see.
  std::vector<std::uint8_t> answer;
  if (type == fs::guest_message_type::kReportRequest && size == sizeof(fs::ReportRequest)) {
    fs::ReportRequest req;
    std::memcpy(&req, plaintext.data(), sizeof req);
    fs::ReportResponse rsp{};
    // The requested VMPL may not be more privileged than the requester's key.
    if (req.vmpl < index || req.vmpl > 3 || (req.key_sel & ~std::uint32_t{3}) != 0) {
      rsp.header.status = fs::kReportStatusInvalidParameter;
    } else {
      vtpm::host::ReportFields fields;
      std::memcpy(fields.measurement.data(), measurement_.data(), 48);
      fields.policy = policy_;
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
