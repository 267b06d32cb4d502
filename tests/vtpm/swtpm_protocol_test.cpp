// The two parsers of client bytes in cvtpm-vtpmd: TPM command framing on the data channel and
// control messages on the control channel.
#include <gtest/gtest.h>

#include "cvtpm/vtpm_host/swtpm_protocol.h"
#include "vtpm_testing.h"

namespace cvtpm::vtpm::host::swtpm {
namespace {

using testing::Bytes;
using testing::ByteWriter;

TEST(CommandFraming, WaitsForTheWholeCommand) {
  const Bytes command = testing::tpm_get_random(8);  // 12 bytes
  for (std::size_t have = 0; have < command.size(); ++have) {
    const CommandFrame f = next_command({command.data(), have}, 4087);
    EXPECT_EQ(f.kind, CommandFrame::Kind::kNeedMore) << have;
  }
  const CommandFrame f = next_command(command, 4087);
  EXPECT_EQ(f.kind, CommandFrame::Kind::kComplete);
  EXPECT_EQ(f.size, 12u);
}

TEST(CommandFraming, SplitsBackToBackCommands) {
  Bytes two = testing::tpm_get_random(8);
  const Bytes second = testing::tpm_startup_clear();
  two.insert(two.end(), second.begin(), second.end());
  const CommandFrame f = next_command(two, 4087);
  ASSERT_EQ(f.kind, CommandFrame::Kind::kComplete);
  EXPECT_EQ(f.size, 12u);
  EXPECT_EQ(next_command({two.data() + 12, two.size() - 12}, 4087).size, 12u);
}

TEST(CommandFraming, RejectsSizesOutsideTheSvsmBuffer) {
  for (std::uint32_t size : {0u, 9u, 4088u, 0x5420'2F20u /* "T / " of "GET / HTTP" */}) {
    const Bytes header = ByteWriter().be16(0x8001).be32(size).be32(0x17B).bytes();
    const CommandFrame f = next_command(header, 4087);
    EXPECT_EQ(f.kind, CommandFrame::Kind::kBadSize) << size;
    EXPECT_EQ(f.size, size);
  }
  const Bytes largest = ByteWriter().be16(0x8001).be32(4087).be32(0x17B).bytes();
  EXPECT_EQ(next_command(largest, 4087).kind, CommandFrame::Kind::kNeedMore);
}

TEST(ControlFraming, KnownCommandsWithTheirPayloads) {
  struct Case {
    std::uint32_t code;
    std::size_t payload;
  };
  for (const Case& c : {Case{kGetCapability, 0}, Case{kInit, 4}, Case{kShutdown, 0},
                        Case{kSetLocality, 1}, Case{kStop, 0}, Case{kSetBufferSize, 4},
                        Case{kGetInfo, 16}, Case{kLockStorage, 4}, Case{kCvtpmAttest, 65}}) {
    Bytes message = ByteWriter().be32(c.code).zeros(c.payload).bytes();
    message.push_back(0xEE);  // the start of the next message
    for (std::size_t have = 0; have < 4 + c.payload; ++have) {
      EXPECT_EQ(next_control({message.data(), have}).kind, ControlFrame::Kind::kNeedMore)
          << c.code << " " << have;
    }
    const ControlFrame f = next_control(message);
    ASSERT_EQ(f.kind, ControlFrame::Kind::kComplete) << c.code;
    EXPECT_EQ(f.code, c.code);
    EXPECT_EQ(f.payload.size(), c.payload);
    EXPECT_EQ(f.size, 4 + c.payload);
  }
}

TEST(ControlFraming, UnknownAndVariableLengthCommandsCannotBeDelimited) {
  const std::uint32_t codes[] = {0u, kHashData, kSetStateBlob, 0x14u, 0xFFFF'FFFFu};
  for (std::uint32_t code : codes) {
    const Bytes message = ByteWriter().be32(code).be32(100).bytes();
    const ControlFrame f = next_control(message);
    EXPECT_EQ(f.kind, ControlFrame::Kind::kUndelimited) << code;
    EXPECT_EQ(f.code, code);
  }
}

}  // namespace
}  // namespace cvtpm::vtpm::host::swtpm
