// Who is calling: the vCPU a call comes from and where its calling area is. Freestanding.
#pragma once

#include <cstdint>

namespace cvtpm::vtpm {

struct CallContext {
  std::uint32_t vcpu_index;  // the platform's index of the calling vCPU
  std::uint64_t caa_gpa;     // its current calling area
};

}  // namespace cvtpm::vtpm
