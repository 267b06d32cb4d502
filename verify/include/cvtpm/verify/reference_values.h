// The launch digests a verifier accepts, read from the JSON cvtpm's tools write:
//   - `cvtpm-measure ... --output-format json` (an OVMF launch), `cvtpm-measure igvm -o json`,
//     `cvtpm-measure igvm sign -o json` and `cvtpm-measure id-block --output-format json`: one
//     object with "launch_digest" (96 hex digits) and, except for the ID-block forms, "mode";
//   - `examples/reference-values.sh`: {"igvm": <igvm object>, "ovmf_launches": [<objects>]}.
// SEV and SEV-ES launch digests (modes "sev", "seves") are not SNP measurements and are refused,
// as is anything else; malformed JSON throws InputError naming the file.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace cvtpm::verify {

struct ReferenceMeasurement {
  std::array<std::uint8_t, 48> digest{};
  std::string origin;  // where it came from: "--measurement", "FILE: igvm", ...
};

std::vector<ReferenceMeasurement> parse_reference_values(std::span<const std::uint8_t> json,
                                                         const std::string& name);

// One launch digest given as 96 hex digits (an optional 0x prefix). Throws InputError.
std::array<std::uint8_t, 48> parse_measurement_hex(const std::string& text,
                                                   const std::string& what);

}  // namespace cvtpm::verify
