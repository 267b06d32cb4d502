// Fuzzes the SNP guest-request channel (vtpm_fw/snp guest_request: MSG_REPORT_REQ and
// MSG_KEY_REQ, alternately) against a hypervisor that answers with input bytes: arbitrary GHCB
// results, exit_info_2 error codes and response pages. Nothing the hypervisor writes can
// authenticate under a key it does not know, so every exchange must fail, and a failure other than
// "busy, retried" or "the caller's buffer is too small" must leave the channel unusable (the key
// wiped, its sequence number never reused).
//
// Input: u8 VMPCK index (mod 4), then the hypervisor's answers.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "cvtpm/formats/snp/guest_message.h"
#include "cvtpm/snp/ghcb_client.h"
#include "cvtpm/snp/guest_request.h"
#include "snp_fake_hardware.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = cvtpm::formats::snp;
  using namespace cvtpm::snp;
  if (size < 1) return 0;
  fuzzing::FuzzHardware hardware({data + 1, size - 1});
  constexpr std::uint64_t kGhcb = 0x1000, kRequest = 0x2000, kResponse = 0x3000;
  hardware.page(kGhcb);
  hardware.page(kRequest);
  hardware.page(kResponse);
  GhcbClient ghcb(hardware, kGhcb);
  GuestRequestChannel channel;
  std::array<std::uint8_t, 32> key{};
  key.fill(0x5C);
  channel.init(key, static_cast<std::uint8_t>(data[0] % 4), kRequest, kResponse);
  for (int round = 0; round < 3; ++round) {
    const bool usable_before = channel.usable();
    const unsigned exits_before = hardware.exits();
    SnpStatus s = SnpStatus::success();
    if (round % 2 == 0) {
      std::array<std::uint8_t, 64> report_data{};
      report_data[0] = static_cast<std::uint8_t>(round);
      fs::AttestationReport report{};
      s = request_report(channel, ghcb, report_data, report);
    } else {
      fs::KeyRequest request{};
      request.guest_field_select = fs::key_field::kGuestPolicy | fs::key_field::kMeasurement;
      std::array<std::uint8_t, fs::kDerivedKeySize> derived{};
      s = request_derived_key(channel, ghcb, request, derived);
      for (std::uint8_t b : derived) {
        if (b != 0) std::abort();  // no key from an answer that failed
      }
    }
    if (s) std::abort();  // the hypervisor cannot forge an authentic response
    // Once the key is gone, nothing reaches the hypervisor any more.
    if (!usable_before && hardware.exits() != exits_before) std::abort();
    const std::string_view what = s.error().what;
    if (channel.usable() && what != "guest request: response larger than the caller's buffer") {
      std::abort();
    }
  }
  return 0;
}
