// Tests run real binaries through the project's process runner (cvtpm/support/process.h).
#pragma once

#include "cvtpm/support/process.h"

namespace cvtpm::testing {
using cvtpm::ProcessResult;
using cvtpm::run_process;
}  // namespace cvtpm::testing
