// Fuzzes the OVMF image parser and the SNP launch measurement that walks its metadata.
#include <cstdint>
#include <vector>

#include "cvtpm/formats/ovmf/ovmf_image.h"
#include "cvtpm/measure/guest_launch.h"
#include "cvtpm/support/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cvtpm;
  try {
    auto image =
        formats::ovmf::OvmfImage::parse(std::vector<std::uint8_t>(data, data + size), "fuzz");
    (void)image.sev_hash_table();
    for (const auto& e : image.footer_entries()) (void)image.footer_entry(e.guid);
    measure::GuestLaunch launch;
    launch.ovmf = &image;
    launch.vcpus = 2;
    launch.kernel = measure::KernelHashes{};
    (void)measure::measure_guest_launch(launch);
  } catch (const InputError&) {
    // Rejecting bad input with a message is the expected outcome.
  }
  return 0;
}
