// The outcome of a verification: every check by name with what was expected and what was found,
// the checks not asked for, and the decoded evidence; as text or JSON.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cvtpm/verify/certificates.h"
#include "cvtpm/verify/manifest.h"
#include "cvtpm/verify/product.h"
#include "cvtpm/verify/report.h"

namespace cvtpm::verify {

struct Check {
  std::string name;  // stable, for scripts: "report-signature", "measurement", ...
  bool passed = false;
  std::string expected;
  std::string actual;
};

struct Verdict {
  std::vector<Check> checks;
  // Optional checks nobody asked for, each "name: why" ("measurement: no --measurement ...").
  std::vector<std::string> not_checked;
  // False for the cvtpm native firmware's unsigned report: only the binding was checked.
  bool attested = true;
  std::string trust_root;  // which root the chain was checked against, and why that one

  Report report;
  std::optional<ProductLine> product;  // from the VCEK, else the report's CPUID fields
  std::optional<VcekExtensions> vcek;
  std::optional<Manifest> manifest;

  void add(std::string name, bool passed, std::string expected, std::string actual) {
    checks.push_back({std::move(name), passed, std::move(expected), std::move(actual)});
  }
  bool accepted() const;
  std::vector<std::string> failed() const;
};

std::string verdict_text(const Verdict& verdict);
std::string verdict_json(const Verdict& verdict, const std::string& tool_version);

}  // namespace cvtpm::verify
