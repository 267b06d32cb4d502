// How the SNP platform reports failures: a fixed description and up to two numbers (addresses,
// hypervisor answers), so a failure can be logged or become the panic message without
// allocation. Freestanding.
#pragma once

#include <cstdint>

#include "cvtpm/vtpm/result.h"

namespace cvtpm::snp {

struct SnpError {
  const char* what;  // static text naming what failed
  std::uint64_t value1 = 0;
  std::uint64_t value2 = 0;
};

using SnpStatus = vtpm::Status<SnpError>;
template <typename T>
using SnpResult = vtpm::Result<T, SnpError>;

}  // namespace cvtpm::snp
