// The cvtpm-launch command line, callable from tests.
#pragma once

#include <ostream>

namespace cvtpm::launch {

// Runs cvtpm-launch with `argv`; returns the process exit status (2 bad input, 3 host unsuitable).
int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace cvtpm::launch
