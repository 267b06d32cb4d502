// `cvtpm-measure igvm`: launch digests of IGVM files and `igvm sign` (private to measure/src).
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <ostream>
#include <string>

namespace cvtpm::measure::cli {

struct IgvmCommand {
  CLI::App* measure = nullptr;
  CLI::App* sign = nullptr;

  // Shared by both.
  std::string file;
  bool check_kvm = false;
  bool native_zero = false;
  std::string platform = "sev-snp";

  // measure
  bool ignore_id_block = false;
  bool bare = false;
  std::string output_format = "text";
  bool verbose = false;

  // sign
  std::string id_key;
  std::optional<std::string> author_key;
  std::string output;
  std::optional<std::string> family_id, image_id;
  std::string svn = "0";
  std::string sign_output_format = "text";
};

// Registers `igvm` (and `igvm sign`) on `app`; `command` receives the parsed options.
void add_igvm_command(CLI::App& app, IgvmCommand& command);

// Runs whichever of the two was parsed; results go to `out`, the -v region list to `err`.
int run_igvm_command(const IgvmCommand& command, std::ostream& out, std::ostream& err);

}  // namespace cvtpm::measure::cli
