#include "transport/state_link_client.h"

#include <cstring>

namespace cvtpm::fw::transport {
namespace {

namespace fs = formats::state;
using state::StorageError;
using vtpm::Result;
using vtpm::Status;

constexpr std::size_t kRequestHeader = sizeof(fs::LinkRequestHeader);
constexpr std::size_t kResponseHeader = sizeof(fs::LinkResponseHeader);

bool known_status(std::uint8_t status) {
  return status <= static_cast<std::uint8_t>(fs::LinkStatus::kTooLarge);
}

}  // namespace

StorageError storage_error(fs::LinkStatus status) {
  switch (status) {
    case fs::LinkStatus::kOk:
    case fs::LinkStatus::kBadRequest:
      return StorageError::kBadRequest;
    case fs::LinkStatus::kConflict:
      return StorageError::kConflict;
    case fs::LinkStatus::kIoError:
      return StorageError::kIoError;
    case fs::LinkStatus::kDigestMismatch:
      return StorageError::kDigestMismatch;
    case fs::LinkStatus::kTooLarge:
      return StorageError::kTooLarge;
  }
  return StorageError::kProtocol;
}

std::size_t StateLinkClient::begin_request(fs::LinkOp op, std::uint32_t offset,
                                           std::uint32_t length) {
  fs::LinkRequestHeader h{};
  h.op = static_cast<std::uint8_t>(op);
  h.offset = offset;
  h.length = length;
  std::memcpy(request_, &h, kRequestHeader);
  return kRequestHeader;
}

bool StateLinkClient::send(std::size_t size) {
  const std::size_t frame =
      encode_frame(FrameType::kStateRequest, sequence_, {request_, size}, frame_out_);
  if (frame == 0) return false;
  stats_.bytes_sent += frame;
  return uart_.write(frame_out_, frame);
}

Result<StateLinkClient::Answer, StorageError> StateLinkClient::exchange(std::size_t size,
                                                                        std::uint64_t timeout_ns,
                                                                        std::uint64_t retry_ns) {
  ++sequence_;
  ++stats_.requests;
  fs::LinkRequestHeader sent{};
  std::memcpy(&sent, request_, kRequestHeader);
  const std::uint64_t start = now_ns_();
  std::uint64_t last_send = start;
  if (!send(size)) return StorageError::kUnreachable;
  for (;;) {
    const int byte = uart_.read_byte();
    const std::uint64_t now = now_ns_();
    if (byte < 0) {
      if (now - start > timeout_ns) return StorageError::kUnreachable;
      if (retry_ns != 0 && now - last_send > retry_ns) {
        last_send = now;
        if (!send(size)) return StorageError::kUnreachable;
      }
      continue;
    }
    if (!receiver_.push(static_cast<std::uint8_t>(byte))) continue;
    const Frame f = receiver_.frame();
    if (f.type != FrameType::kStateResponse || f.sequence != sequence_) {
      ++stats_.stale_frames;  // an answer to an earlier request (or noise): not this one's
      continue;
    }
    // Copy out of the receiver before reading anything, then check the shape exactly.
    if (f.payload.size() < kResponseHeader || f.payload.size() > sizeof answer_) {
      ++stats_.bad_frames;
      return StorageError::kProtocol;
    }
    std::memcpy(answer_, f.payload.data(), f.payload.size());
    Answer a{};
    std::memcpy(&a.header, answer_, kResponseHeader);
    a.data = std::span<const std::uint8_t>(answer_ + kResponseHeader,
                                           f.payload.size() - kResponseHeader);
    if (a.header.op != sent.op || !known_status(a.header.status)) {
      ++stats_.bad_frames;
      return StorageError::kProtocol;
    }
    const auto status = static_cast<fs::LinkStatus>(a.header.status);
    if (status != fs::LinkStatus::kOk) return storage_error(status);
    const bool is_read = sent.op == static_cast<std::uint8_t>(fs::LinkOp::kRead);
    const std::size_t expected_data = is_read ? sent.length : 0;
    if (a.data.size() != expected_data || (is_read && a.header.size != sent.length)) {
      ++stats_.bad_frames;
      return StorageError::kProtocol;
    }
    return a;
  }
}

Result<state::StoredInfo, StorageError> StateLinkClient::info() {
  const std::size_t size = begin_request(fs::LinkOp::kInfo, 0, 0);
  const Result<Answer, StorageError> a =
      exchange(size, timing_.connect_timeout_ns, timing_.connect_retry_ns);
  if (!a) return a.error();
  state::StoredInfo info;
  info.size = a.value().header.size;
  std::memcpy(info.digest, a.value().header.digest, sizeof info.digest);
  return info;
}

Status<StorageError> StateLinkClient::read(std::span<std::uint8_t> out) {
  for (std::size_t done = 0; done < out.size();) {
    const std::size_t left = out.size() - done;
    const auto chunk = static_cast<std::uint32_t>(left < fs::kMaxChunk ? left : fs::kMaxChunk);
    const std::size_t size =
        begin_request(fs::LinkOp::kRead, static_cast<std::uint32_t>(done), chunk);
    const Result<Answer, StorageError> a = exchange(size, timing_.response_timeout_ns, 0);
    if (!a) return a.error();
    std::memcpy(out.data() + done, a.value().data.data(), chunk);
    done += chunk;
  }
  return Status<StorageError>::success();
}

Status<StorageError> StateLinkClient::replace(
    std::span<const std::uint8_t, crypto::kSha256Size> previous, std::uint64_t generation,
    std::span<const std::uint8_t> blob, std::span<const std::uint8_t, crypto::kSha256Size> digest) {
  if (blob.size() > fs::kMaxBlobSize) return StorageError::kTooLarge;
  fs::WriteBegin begin{};
  begin.generation = generation;
  begin.total_size = static_cast<std::uint32_t>(blob.size());
  std::memcpy(begin.previous, previous.data(), sizeof begin.previous);
  std::size_t size = begin_request(fs::LinkOp::kWriteBegin, 0, sizeof begin);
  std::memcpy(request_ + size, &begin, sizeof begin);
  if (auto a = exchange(size + sizeof begin, timing_.response_timeout_ns, 0); !a) {
    return a.error();
  }
  for (std::size_t done = 0; done < blob.size();) {
    const std::size_t left = blob.size() - done;
    const std::size_t chunk = left < fs::kMaxChunk ? left : fs::kMaxChunk;
    size = begin_request(fs::LinkOp::kWriteData, static_cast<std::uint32_t>(done),
                         static_cast<std::uint32_t>(chunk));
    std::memcpy(request_ + size, blob.data() + done, chunk);
    if (auto a = exchange(size + chunk, timing_.response_timeout_ns, 0); !a) return a.error();
    done += chunk;
  }
  fs::WriteCommit commit{};
  std::memcpy(commit.digest, digest.data(), sizeof commit.digest);
  size = begin_request(fs::LinkOp::kWriteCommit, 0, sizeof commit);
  std::memcpy(request_ + size, &commit, sizeof commit);
  const Result<Answer, StorageError> a =
      exchange(size + sizeof commit, timing_.response_timeout_ns, 0);
  if (!a) return a.error();
  if (std::memcmp(a.value().header.digest, digest.data(), digest.size()) != 0) {
    return StorageError::kDigestMismatch;  // the host says it stored something else
  }
  return Status<StorageError>::success();
}

}  // namespace cvtpm::fw::transport
