#include "cvtpm/verify/amd_roots.h"

#include "amd_roots_data.h"  // generated from verify/roots/*.pem at configure time

namespace cvtpm::verify {

PinnedRoots pinned_roots(ProductLine line) {
  switch (line) {
    case ProductLine::kMilan:
      return {roots::kMilanArk, roots::kMilanAsk};
    case ProductLine::kGenoa:
      return {roots::kGenoaArk, roots::kGenoaAsk};
    case ProductLine::kTurin:
      return {roots::kTurinArk, roots::kTurinAsk};
  }
  return {};
}

}  // namespace cvtpm::verify
