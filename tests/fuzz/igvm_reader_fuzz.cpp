// Fuzzes the IGVM reader, the writer's round trip, the launch measurement and the dump.
#include <cstdint>
#include <cstdlib>

#include "cvtpm/formats/igvm/igvm_file.h"
#include "cvtpm/igvmgen/dump.h"
#include "cvtpm/measure/igvm_measure.h"
#include "cvtpm/support/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cvtpm;
  namespace igvm = formats::igvm;
  igvm::IgvmFile file;
  try {
    file = igvm::parse_igvm(ByteBuffer(data, size), "fuzz");
  } catch (const InputError&) {
    return 0;  // rejecting bad input with a message is the expected outcome
  }
  // Whatever the reader accepts, the writer reproduces and the reader reads back unchanged.
  const std::vector<std::uint8_t> bytes = igvm::write_igvm(file);
  const igvm::IgvmFile again = igvm::parse_igvm(ByteBuffer(bytes), "fuzz-again");
  if (!(again == file) || igvm::write_igvm(again) != bytes) std::abort();

  for (auto platform : {measure::IgvmPlatform::kSevSnp, measure::IgvmPlatform::kSevEs,
                        measure::IgvmPlatform::kSev}) {
    for (bool check : {false, true}) {
      measure::IgvmMeasureOptions o;
      o.platform = platform;
      o.check_kvm = check;
      o.native_zero = check;
      try {
        (void)measure::measure_igvm(file, o, "fuzz");
      } catch (const InputError&) {
      }
    }
  }
  igvmgen::DumpInput in;
  in.file = &file;
  in.name = "fuzz";
  in.file_size = size;
  (void)igvmgen::dump_text(in);
  (void)igvmgen::dump_json(in);
  return 0;
}
