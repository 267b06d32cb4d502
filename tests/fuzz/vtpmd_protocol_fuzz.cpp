// Fuzzes cvtpm-vtpmd's parsers of client bytes: TPM command framing on the data channel and
// control messages on the control channel, consuming the input frame by frame as the daemon
// does. Aborts if a frame claims bytes that were not buffered.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "cvtpm/vtpm/svsm_abi.h"
#include "cvtpm/vtpm_host/swtpm_protocol.h"

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cvtpm::vtpm::host::swtpm;
  std::span<const std::uint8_t> in(data, size);
  while (true) {
    const CommandFrame f = next_command(in, cvtpm::vtpm::kMaxTpmCommandSize);
    if (f.kind != CommandFrame::Kind::kComplete) break;
    if (f.size < 10 || f.size > in.size() || f.size > cvtpm::vtpm::kMaxTpmCommandSize) {
      broken("a command frame outside the buffered bytes");
    }
    in = in.subspan(f.size);
  }
  in = std::span<const std::uint8_t>(data, size);
  while (true) {
    const ControlFrame f = next_control(in);
    if (f.kind != ControlFrame::Kind::kComplete) break;
    if (f.size < 4 || f.size > in.size() || f.payload.size() != f.size - 4 ||
        f.payload.data() != in.data() + 4) {
      broken("a control frame outside the buffered bytes");
    }
    in = in.subspan(f.size);
  }
  return 0;
}
