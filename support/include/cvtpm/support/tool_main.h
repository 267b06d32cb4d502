// What every cvtpm command-line tool does at its edge: parse with CLI11, run, and turn errors
// into one line on stderr and a documented exit status.
#pragma once

#include <openssl/crypto.h>
#include <CLI/CLI.hpp>

#include <exception>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "cvtpm/support/error.h"
#include "cvtpm/version.h"

namespace cvtpm {

inline std::string version_line(std::string_view tool) {
  return std::string(tool) + " " + CVTPM_VERSION;
}

// Tools never read the system's openssl.cnf: their results must not depend on host
// configuration, and skipping it shortens start-up.
inline void init_tool_crypto() {
  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
}

// Parses the command line. Returns nothing when the tool should go on; otherwise the exit
// status to return: 0 after --help or --version (printed to `out`), kExitBadInput after a usage
// error (one line on `err`).
inline std::optional<int> parse_command_line(CLI::App& app, std::string_view tool, int argc,
                                             const char* const* argv, std::ostream& out,
                                             std::ostream& err) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e, out, err);
    err << tool << ": error: " << e.what() << " (see --help)\n";
    return kExitBadInput;
  }
}

// Runs the body of a tool, reporting InputError as a one-line error with kExitBadInput and
// anything else as an internal error with status 1.
template <typename Body>
int run_guarded(std::string_view tool, std::ostream& err, Body&& body) {
  try {
    return body();
  } catch (const InputError& e) {
    err << tool << ": error: " << e.what() << '\n';
    return kExitBadInput;
  } catch (const std::exception& e) {
    err << tool << ": internal error: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace cvtpm
