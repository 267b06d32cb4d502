// The test firmware is a real bootable image: QEMU (no IGVM loader in Debian's 7.2) boots it
// through its PVH note, and it reports the platform of the entry contract it was entered with.
#include <gtest/gtest.h>

#include <filesystem>

#include "process.h"

namespace cvtpm::testing {
namespace {

constexpr const char* kQemu = "/usr/bin/qemu-system-x86_64";

TEST(TestFirmware, BootsThroughThePvhEntryUnderQemu) {
  if (!std::filesystem::exists(kQemu)) GTEST_SKIP() << kQemu << " not installed";
  ProcessResult r =
      run_process({kQemu, "-machine", "q35", "-accel", "tcg", "-cpu", "max", "-m", "256M",
                   "-display", "none", "-nodefaults", "-no-reboot", "-serial", "stdio", "-kernel",
                   CVTPM_TEST_FIRMWARE, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"},
                  {}, std::chrono::seconds(60));
  ASSERT_FALSE(r.timed_out);
  // isa-debug-exit: status = (value << 1) | 1; the firmware writes its platform (1 = PVH).
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "cvtpm test firmware: platform 1\n");
}

}  // namespace
}  // namespace cvtpm::testing
