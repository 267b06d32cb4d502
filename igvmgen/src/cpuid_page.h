// The CPUID page template the image carries (the CPUID_PAGE of SNP_LAUNCH_UPDATE; layout in
// formats/snp/cpuid_page.h): the functions the firmware asks about, for the host to fill in and
// the PSP to check at launch. Its contents are not part of the launch digest.
#pragma once

#include <array>
#include <cstdint>

namespace cvtpm::igvmgen {

// The functions the firmware asks CPUID about, with zero outputs for the host to fill in.
std::array<std::uint8_t, 4096> snp_cpuid_template();

}  // namespace cvtpm::igvmgen
