#include "sev_features.h"

#include <cstdio>
#include <span>

#include "cvtpm/support/encoding.h"
#include "cvtpm/support/error.h"

namespace cvtpm::igvmgen {
namespace {

struct Feature {
  const char* name;
  unsigned bit;
};

// AMD APM vol. 2, "SEV_FEATURES"; the aliases are COCONUT-SVSM igvmbuilder's spellings.
constexpr Feature kFeatures[] = {
    {"snp", 0},
    {"vtom", 1},
    {"reflect-vc", 2},
    {"restricted-injection", 3},
    {"alternate-injection", 4},
    {"debug-swap", 5},
    {"prevent-host-ibs", 6},
    {"btb-isolation", 7},
    {"vmpl-sss", 8},
    {"secure-tsc", 9},
    {"vmgexit-parameter", 10},
    {"ibs-virtualization", 12},
    {"vmsa-reg-prot", 14},
    {"smt-protection", 15},
};
constexpr Feature kAliases[] = {{"snpbtb-isolation", 7}, {"secure-tsc-en", 9}};

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

std::uint64_t parse_sev_features(std::string_view list, std::string_view what) {
  std::uint64_t value = 0;
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    if (item.empty()) throw InputError(std::string(what), "has an empty item");
    bool found = false;
    for (const auto& table :
         {std::span<const Feature>(kFeatures), std::span<const Feature>(kAliases)}) {
      for (const Feature& f : table) {
        if (item == f.name) {
          value |= 1ULL << f.bit;
          found = true;
        }
      }
    }
    if (!found) {
      if (item.front() >= '0' && item.front() <= '9') {
        value |= parse_uint(item, what);
      } else {
        throw InputError(std::string(what), "unknown SEV feature '" + std::string(item) +
                                                "' (known: " + sev_feature_name_list() + ")");
      }
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return value;
}

std::string sev_feature_names(std::uint64_t features) {
  std::string out;
  for (const Feature& f : kFeatures) {
    if (features & (1ULL << f.bit)) {
      if (!out.empty()) out += ',';
      out += f.name;
      features &= ~(1ULL << f.bit);
    }
  }
  if (features != 0) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(features));
    if (!out.empty()) out += ',';
    out += buf;
  }
  return out.empty() ? "none" : out;
}

std::string sev_feature_name_list() {
  std::string out;
  for (const Feature& f : kFeatures) {
    if (!out.empty()) out += ", ";
    out += f.name;
  }
  return out;
}

}  // namespace cvtpm::igvmgen
