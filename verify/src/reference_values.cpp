#include "cvtpm/verify/reference_values.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "cvtpm/support/encoding.h"
#include "cvtpm/support/error.h"

namespace cvtpm::verify {
namespace {

using nlohmann::json;

// The modes whose "launch_digest" is an SNP MEASUREMENT (cvtpm-measure's guest_mode_name and
// "igvm").
bool snp_mode(const std::string& mode) {
  return mode == "snp" || mode == "snp:svsm" || mode == "igvm";
}

class Collector {
 public:
  Collector(std::string name, std::string label)
      : name_(std::move(name)), label_(std::move(label)) {}

  // One cvtpm-measure result object, found at `where` in the document.
  void add_result(const json& object, const std::string& where) {
    if (!object.is_object()) throw InputError(name_, where + " is not a JSON object");
    const auto digest = object.find("launch_digest");
    if (digest == object.end() || !digest->is_string()) {
      throw InputError(name_, where + " has no \"launch_digest\" string");
    }
    if (const auto mode = object.find("mode"); mode != object.end()) {
      if (!mode->is_string() || !snp_mode(mode->get<std::string>())) {
        throw InputError(name_, where + ": mode " + mode->dump() +
                                    " has no SNP launch digest (snp, snp:svsm or igvm)");
      }
    }
    ReferenceMeasurement m;
    m.digest =
        parse_measurement_hex(digest->get<std::string>(), name_ + ": " + where + ".launch_digest");
    m.origin = label_ + ": " + where + describe(object);
    out_.push_back(std::move(m));
  }

  std::vector<ReferenceMeasurement> take() { return std::move(out_); }

 private:
  // What distinguishes one OVMF launch from another in reference-values.sh's list.
  static std::string describe(const json& object) {
    const auto vcpus = object.find("vcpus");
    const auto type = object.find("vcpu_type");
    if (vcpus == object.end() || type == object.end()) return "";
    return " (" + vcpus->dump() + " x " + type->dump() + ")";
  }

  std::string name_;
  std::string label_;
  std::vector<ReferenceMeasurement> out_;
};

}  // namespace

std::array<std::uint8_t, 48> parse_measurement_hex(const std::string& text,
                                                   const std::string& what) {
  const std::vector<std::uint8_t> bytes = parse_hex(text, what);
  if (bytes.size() != 48) {
    throw InputError(
        what, "a launch digest is 48 bytes (96 hex digits), got " + std::to_string(bytes.size()));
  }
  std::array<std::uint8_t, 48> digest;
  std::copy(bytes.begin(), bytes.end(), digest.begin());
  return digest;
}

std::vector<ReferenceMeasurement> parse_reference_values(std::span<const std::uint8_t> bytes,
                                                         const std::string& name) {
  const json document = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (document.is_discarded()) throw InputError(name, "not valid JSON");
  if (!document.is_object()) throw InputError(name, "not a JSON object");
  Collector collector(name, std::filesystem::path(name).filename().string());
  const bool listing = document.contains("igvm") || document.contains("ovmf_launches");
  if (!listing) {
    collector.add_result(document, "top level");
    return collector.take();
  }
  if (const auto igvm = document.find("igvm"); igvm != document.end()) {
    collector.add_result(*igvm, "igvm");
  }
  if (const auto launches = document.find("ovmf_launches"); launches != document.end()) {
    if (!launches->is_array()) throw InputError(name, "\"ovmf_launches\" is not an array");
    for (std::size_t i = 0; i < launches->size(); ++i) {
      collector.add_result((*launches)[i], "ovmf_launches[" + std::to_string(i) + "]");
    }
  }
  std::vector<ReferenceMeasurement> out = collector.take();
  if (out.empty()) throw InputError(name, "lists no launch digest");
  return out;
}

}  // namespace cvtpm::verify
