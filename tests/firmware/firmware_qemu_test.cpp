// cvtpm-fw in QEMU (TCG): the boot reaches every init stage in order and the self-test passes
// with the pass status; each deliberate fault ends in a clean panic report (cause, RIP resolving
// to the faulting function, backtrace) with the fail status instead of a triple fault or a hang;
// a CPU without RDRAND/RDSEED and a guest too small for the firmware region stop loudly; and
// the serial link serves tpm2-tools through cvtpm-tpm-bridge.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "ports.h"
#include "qemu_runner.h"
#include "temp_dir.h"

namespace cvtpm::fw::testing {
namespace {

using namespace std::chrono_literals;

#define REQUIRE_QEMU() \
  if (!have_qemu()) GTEST_SKIP() << "qemu-system-x86_64 is not installed (qemu-system-x86)"

// Positions of `needles` in `text`, in order; fails naming the first missing one.
void expect_in_order(const std::string& text, const std::vector<std::string>& needles) {
  std::size_t at = 0;
  for (const std::string& n : needles) {
    const std::size_t found = text.find(n, at);
    ASSERT_NE(found, std::string::npos) << "missing (in order): \"" << n << "\"\n--- log ---\n"
                                        << text;
    at = found + n.size();
  }
}

QemuOptions boot_with(std::string append, std::string cpu = "max", std::string memory = "256M") {
  QemuOptions o;
  o.append = std::move(append);
  o.cpu = std::move(cpu);
  o.memory = std::move(memory);
  return o;
}

std::string panic_rip(const std::string& log) {
  std::smatch m;
  if (std::regex_search(log, m, std::regex("RIP 0x([0-9a-f]{16})"))) return m[1];
  return "";
}

TEST(FirmwareBoot, InitStagesThenSelfTestPasses) {
  REQUIRE_QEMU();
  const auto r = run_qemu(boot_with("selftest"));
  ASSERT_FALSE(r.timed_out) << r.out;
  EXPECT_EQ(r.exit_code, kQemuPassStatus) << r.out << r.err;
  expect_in_order(r.out, {
                             "cvtpm-fw ",
                             "init: console on port 0x3f8",
                             "init: descriptor tables: 32 exception vectors on 7 IST stacks",
                             "init: boot info from pvh:",
                             "command line \"selftest\"",
                             "init: cpu ",
                             "init: entropy from ",
                             "stack-protector canary set",
                             "init: memory: image 0x8000000-",
                             "init: paging: identity map to 0x100000000, W^X image, 8 unmapped "
                             "stack guard pages, NX on",
                             "init: heap on the page pool",
                             "init: clock: TSC ",
                             "init: crypto: OpenSSL 3.",
                             "ready: runtime up in ",
                             "selftest: start",
                             "OpenSSL SHA-384(\"abc\") known answer      PASS",
                             "OpenSSL ECDSA P-384 known signature      PASS",
                             "OpenSSL ECDSA rejects a corrupted one    PASS",
                             "libtpms manufactures a TPM 2.0           PASS",
                             "TPM2_Startup(CLEAR)                      PASS",
                             "TPM2_GetRandom(32) twice, different      PASS",
                             "TPM2_CreatePrimary(ECC P-256)            PASS",
                             "primary key's point is on P-256 (libcrypto) PASS",
                             "selftest: PASSED (",
                             "exiting with the pass status",
                         });
  EXPECT_EQ(r.out.find("FAIL"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("PANIC"), std::string::npos) << r.out;
}

TEST(FirmwareBoot, DebugLogLevelShowsTheMemoryMap) {
  REQUIRE_QEMU();
  const auto r = run_qemu(boot_with("selftest loglevel=debug"));
  EXPECT_EQ(r.exit_code, kQemuPassStatus) << r.out;
  // QEMU's e820 map for q35 with 256 MiB: RAM from 1 MiB up to just below 256 MiB.
  EXPECT_TRUE(std::regex_search(r.out, std::regex("D   RAM 0x000000100000-0x00000f[0-9a-f]{6}\n")))
      << r.out;
}

struct FaultCase {
  const char* option;
  std::vector<std::string> report;          // expected in order, before the backtrace
  const char* function;                     // where RIP must point
  std::vector<std::string> backtrace = {};  // expected in order, after "#0"
};

// Names the case in test listings (instead of its bytes).
void PrintTo(const FaultCase& c, std::ostream* os) {
  *os << "fault=" << c.option;
}

class FirmwareFault : public ::testing::TestWithParam<FaultCase> {};

TEST_P(FirmwareFault, CleanPanicReportAndFailStatus) {
  REQUIRE_QEMU();
  const FaultCase& c = GetParam();
  const auto r = run_qemu(boot_with(std::string("fault=") + c.option));
  ASSERT_FALSE(r.timed_out) << "hung instead of stopping\n" << r.out;
  // -no-reboot turns a triple fault into a plain QEMU exit with status 0.
  EXPECT_EQ(r.exit_code, kQemuFailStatus) << r.out << r.err;
  std::vector<std::string> expected = {"fault test: "};
  expected.insert(expected.end(), c.report.begin(), c.report.end());
  expected.push_back("backtrace (resolve with: addr2line");
  expected.push_back("  #0  0x");
  expected.insert(expected.end(), c.backtrace.begin(), c.backtrace.end());
  expected.push_back("firmware stopped");
  expect_in_order(r.out, expected);
  const std::string rip = panic_rip(r.out);
  ASSERT_FALSE(rip.empty()) << r.out;
  EXPECT_NE(function_at("0x" + rip).find(c.function), std::string::npos)
      << "RIP 0x" << rip << " resolves to " << function_at("0x" + rip);
  EXPECT_EQ(r.out.find("PANIC while panicking"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, FirmwareFault,
    ::testing::Values(
        FaultCase{"page",
                  {"PANIC: CPU exception 14 #PF page fault, error code 0x0",
                   "CR2 0x0000004000000000: read of a not-present page in supervisor mode"},
                  "trigger_fault"},
        FaultCase{"null",
                  {"PANIC: CPU exception 14 #PF page fault",
                   "NULL POINTER dereference (page 0 is never mapped)"},
                  "trigger_fault"},
        FaultCase{"divide", {"PANIC: CPU exception 0 #DE divide error"}, "trigger_fault"},
        FaultCase{"ud", {"PANIC: CPU exception 6 #UD invalid opcode"}, "trigger_fault"},
        FaultCase{"stack",
                  {"PANIC: CPU exception 14 #PF page fault, error code 0x2", "STACK OVERFLOW: 0x",
                   "is the guard page below the main stack"},
                  "recurse",
                  {"  #1  0x", "more frames at the same call site"}},
        FaultCase{"wx",
                  {"PANIC: CPU exception 14 #PF page fault, error code 0x3",
                   "write violating page protection in supervisor mode"},
                  "trigger_fault"},
        FaultCase{"canary",
                  {"PANIC: stack smashing detected: a stack canary was overwritten"},
                  "__stack_chk_fail"},
        FaultCase{"abort", {"PANIC: abort() called"}, "abort"}),
    [](const ::testing::TestParamInfo<FaultCase>& param) {
      return std::string(param.param.option);
    });

TEST(FirmwareBoot, CpuWithoutHardwareEntropyStopsLoudly) {
  REQUIRE_QEMU();
  // qemu64 has neither RDRAND nor RDSEED.
  const auto r = run_qemu(boot_with("selftest", "qemu64"));
  ASSERT_FALSE(r.timed_out) << r.out;
  EXPECT_EQ(r.exit_code, kQemuFailStatus) << r.out;
  expect_in_order(r.out,
                  {"init: cpu ", "rdrand 0 rdseed 0",
                   "PANIC: cpu: no hardware entropy: CPUID reports neither RDSEED nor RDRAND",
                   "firmware stopped"});
  EXPECT_EQ(r.out.find("selftest: start"), std::string::npos);
}

TEST(FirmwareBoot, GuestTooSmallForTheFirmwareRegionStopsLoudly) {
  REQUIRE_QEMU();
  // 150 MiB: QEMU can load the image at 128 MiB, but the 32 MiB region does not fit.
  const auto r = run_qemu(boot_with("selftest", "max", "150M"));
  ASSERT_FALSE(r.timed_out) << r.out;
  EXPECT_EQ(r.exit_code, kQemuFailStatus) << r.out;
  EXPECT_NE(r.out.find("PANIC: boot: memory map: the firmware region 0x8000000+0x2000000 is not "
                       "RAM (guest too small?)"),
            std::string::npos)
      << r.out;
}

// The IGVM NATIVE VP context start, with igvm_native_stub.elf in the loader's place (Debian's
// QEMU 7.2 has no IGVM loader): BootParams, the loader-filled vCPU count and IGVM memory map,
// the kSelfTest flag instead of a command line.
TEST(FirmwareBoot, IgvmNativeStartFromBootParams) {
  REQUIRE_QEMU();
  QemuOptions o;
  o.extra = {"-device", "loader,file=" + firmware_elf()};
  auto argv = qemu_command(o);
  for (auto& arg : argv) {
    if (arg == firmware_elf()) arg = CVTPM_IGVM_NATIVE_STUB;  // -kernel: the stub
  }
  argv.back() = "loader,file=" + firmware_elf();
  argv.push_back("-serial");
  argv.push_back("stdio");
  const auto r = cvtpm::run_process(argv, {}, 60s);
  ASSERT_FALSE(r.timed_out) << r.out;
  EXPECT_EQ(r.exit_code, kQemuPassStatus) << r.out << r.err;
  expect_in_order(r.out, {"init: console on port 0x3f8",
                          "init: boot info from igvm-native: 2 RAM ranges, 1 vCPUs reported, "
                          "command line \"\"",
                          // BootParams, the VP-count/environment page, the memory-map page
                          "init: memory: image 0x8000000-", ", 3 reserved", "selftest: PASSED (",
                          "exiting with the pass status"});
}

// ---------------------------------------------------------------------------------------------
// Serial link through QEMU's chardev and cvtpm-tpm-bridge.

class FirmwareLink : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_qemu()) GTEST_SKIP() << "qemu-system-x86_64 is not installed (qemu-system-x86)";
    const std::string socket = (dir / "link.sock").string();
    QemuOptions o;
    o.extra = {"-serial", "file:" + (dir / "console.log").string(), "-serial",
               "unix:" + socket + ",server=on,wait=off"};
    qemu = std::make_unique<cvtpm::ChildProcess>(qemu_command(o), cvtpm::ChildProcess::Options{});
    for (int i = 0; i < 200 && !std::filesystem::exists(socket); ++i)
      std::this_thread::sleep_for(20ms);
    port = free_port_pair();
    ASSERT_NE(port, 0);
    bridge = std::make_unique<cvtpm::ChildProcess>(
        std::vector<std::string>{std::string(CVTPM_BIN_DIR) + "/cvtpm-tpm-bridge", "--serial",
                                 "unix:" + socket, "--port", std::to_string(port)},
        bridge_options());
    for (int i = 0; i < 1000 && bridge_log().find("link up") == std::string::npos; ++i) {
      std::this_thread::sleep_for(20ms);
    }
    ASSERT_NE(bridge_log().find("firmware link up"), std::string::npos) << bridge_log();
  }
  void TearDown() override {
    if (bridge) bridge->stop(SIGTERM, 2s);
    if (qemu) qemu->stop(SIGTERM, 2s);
  }
  cvtpm::ChildProcess::Options bridge_options() const {
    cvtpm::ChildProcess::Options o;
    o.stderr_file = dir / "bridge.log";
    return o;
  }
  std::string bridge_log() const {
    std::ifstream f(dir / "bridge.log");
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  std::string console_log() const {
    std::ifstream f(dir / "console.log");
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  cvtpm::testing::TempDir dir;
  std::unique_ptr<cvtpm::ChildProcess> qemu;
  std::unique_ptr<cvtpm::ChildProcess> bridge;
  std::uint16_t port = 0;
};

TEST_F(FirmwareLink, Tpm2ToolsReachTheFirmwareEveryTime) {
  const std::string tcti = "swtpm:host=127.0.0.1,port=" + std::to_string(port);
  for (int i = 0; i < 20; ++i) {
    const auto r = cvtpm::run_process({"tpm2_getrandom", "-T", tcti, "8", "--hex"}, {}, 60s);
    if (r.exit_code == 127) GTEST_SKIP() << "tpm2_getrandom (tpm2-tools) is not installed";
    // The stand-in engine answers TPM_RC_FAILURE: the tool got through the TCTI (locality set
    // on the control port) and received the firmware's TPM response.
    ASSERT_NE(r.err.find("Esys_GetCapability(0x101)"), std::string::npos)
        << "run " << i << ": " << r.err;
    ASSERT_EQ(r.err.find("tcti"), std::string::npos) << "run " << i << ": " << r.err;
  }
  expect_in_order(console_log(), {"tpm link: serving on 0x2f8"});
}

}  // namespace
}  // namespace cvtpm::fw::testing
