// Reading a cvtpm image back: the boot parameters its firmware will receive on a platform.
#pragma once

#include <optional>

#include "cvtpm/formats/boot/boot_params.h"
#include "cvtpm/formats/igvm/igvm_file.h"

namespace cvtpm::igvmgen {

// The BootParams page the platform's boot VP context points at (RSI per the entry contract),
// if the image is a cvtpm image for that platform: a VP context for the platform's mask whose
// RSI names a page-data page of that mask holding a BootParams with the right magic and
// version. nullopt for other IGVM files.
std::optional<formats::boot::BootParams> read_boot_params(const formats::igvm::IgvmFile& file,
                                                          formats::igvm::PlatformType platform);

}  // namespace cvtpm::igvmgen
