// The persistent vTPM's root key under SNP (docs/persistence.md, "Keys"): MSG_KEY_REQ at VMPL0
// over the VMPCK0 channel, with the binding the image chose (BootParams state_binding, measured):
//   measurement: ROOT_KEY_SELECT 0 (VCEK), VMPL 0, GUEST_FIELD_SELECT policy | measurement;
//   identity:    ROOT_KEY_SELECT 0 (VCEK), VMPL 0, GUEST_FIELD_SELECT policy | image ID |
//                family ID | guest SVN, GUEST_SVN = the image's minimum SVN (>= 1).
// The key goes only into the caller's buffer, which the caller wipes after use; nothing of it is
// in memory any lower VMPL can read. Freestanding.
#pragma once

#include <cstdint>
#include <span>

#include "cvtpm/formats/boot/boot_params.h"
#include "cvtpm/formats/snp/guest_message.h"
#include "cvtpm/snp/ghcb_client.h"
#include "cvtpm/snp/guest_request.h"
#include "cvtpm/snp/status.h"

namespace cvtpm::snp {

// The MSG_KEY_REQ of the image's binding; an error for a binding it does not know or an identity
// binding with minimum SVN 0 (which any launch without an ID block satisfies).
SnpResult<formats::snp::KeyRequest> state_key_request(const formats::boot::BootParams& params);

// Requests the root key of the image's binding into `key`.
SnpStatus derive_state_root_key(GuestRequestChannel& channel, GhcbClient& ghcb,
                                const formats::boot::BootParams& params,
                                std::span<std::uint8_t, formats::snp::kDerivedKeySize> key);

}  // namespace cvtpm::snp
