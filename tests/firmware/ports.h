// A pair of consecutive loopback TCP ports that are free right now (swtpm's data/control pair).
#pragma once

#include <cstdint>

namespace cvtpm::fw::testing {

std::uint16_t free_port_pair();

}  // namespace cvtpm::fw::testing
