#include "cvtpm/snp/state_key.h"

namespace cvtpm::snp {

namespace boot = formats::boot;
namespace fs = formats::snp;

SnpResult<fs::KeyRequest> state_key_request(const boot::BootParams& params) {
  fs::KeyRequest request{};
  request.root_key_select = fs::kRootKeyVcek;
  request.vmpl = 0;
  request.tcb_version = 0;  // not selected (docs/persistence.md, "Bindings")
  // Guest policy in both: the measurement does not cover it, and a debug launch of the same
  // image must not get the key.
  switch (static_cast<boot::StateBinding>(params.state_binding)) {
    case boot::StateBinding::kMeasurement:
      request.guest_field_select = fs::key_field::kGuestPolicy | fs::key_field::kMeasurement;
      return request;
    case boot::StateBinding::kIdentity:
      if (params.state_min_svn == 0) {
        return SnpError{
            "identity binding with minimum SVN 0 (any launch without an ID block has it)"};
      }
      request.guest_field_select = fs::key_field::kGuestPolicy | fs::key_field::kImageId |
                                   fs::key_field::kFamilyId | fs::key_field::kGuestSvn;
      request.guest_svn = params.state_min_svn;
      return request;
  }
  return SnpError{"BootParams: unknown state binding", params.state_binding};
}

SnpStatus derive_state_root_key(GuestRequestChannel& channel, GhcbClient& ghcb,
                                const boot::BootParams& params,
                                std::span<std::uint8_t, fs::kDerivedKeySize> key) {
  const auto request = state_key_request(params);
  if (!request) return request.error();
  if (!channel.usable()) return SnpError{"the VMPCK0 channel to the PSP is not usable"};
  return request_derived_key(channel, ghcb, request.value(), key);
}

}  // namespace cvtpm::snp
