// The cvtpm-verify command line, callable from tests.
#pragma once

#include <ostream>

namespace cvtpm::verify {

// Exit statuses of `cvtpm-verify report` (kExitBadInput, 2, for bad input).
inline constexpr int kExitAccepted = 0;
inline constexpr int kExitRejected = 1;

// Runs cvtpm-verify with `argv`; returns the process exit status.
int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace cvtpm::verify
