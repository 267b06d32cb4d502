// Human- and machine-readable descriptions of any IGVM file: every header decoded, runs of page
// directives coalesced, VP contexts and ID blocks field by field.
#pragma once

#include <cstddef>
#include <string>

#include "cvtpm/formats/igvm/igvm_file.h"

namespace cvtpm::igvmgen {

struct DumpInput {
  const formats::igvm::IgvmFile* file = nullptr;
  std::string name;           // base name, as it should appear in the output
  std::size_t file_size = 0;  // bytes on disk
  std::string sha256;         // of the file, hex
};

std::string dump_text(const DumpInput& input);
std::string dump_json(const DumpInput& input);  // pretty-printed, ends with a newline

}  // namespace cvtpm::igvmgen
