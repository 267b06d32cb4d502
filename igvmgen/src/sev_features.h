// SEV_FEATURES (VMSA offset 0x3B0) by name, for options and dumps (private to igvmgen).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cvtpm::igvmgen {

// A comma-separated list of feature names (snp, debug-swap, restricted-injection, ...) and/or
// numbers (0x21), OR-ed together. Throws InputError naming `what` for an unknown name.
std::uint64_t parse_sev_features(std::string_view list, std::string_view what);

// "snp,debug-swap" (unnamed bits as hex).
std::string sev_feature_names(std::uint64_t features);

// The names parse_sev_features accepts, for --help.
std::string sev_feature_name_list();

}  // namespace cvtpm::igvmgen
