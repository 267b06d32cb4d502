// The cvtpm-igvmgen command line, callable from tests.
#pragma once

#include <ostream>

namespace cvtpm::igvmgen {

// Runs cvtpm-igvmgen with `argv`; returns the process exit status.
int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace cvtpm::igvmgen
