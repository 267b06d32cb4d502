// The cvtpm-tpm-bridge command line (thin main in main.cpp).
#pragma once

#include <ostream>

namespace cvtpm::bridge {

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace cvtpm::bridge
