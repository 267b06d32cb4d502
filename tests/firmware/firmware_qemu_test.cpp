// cvtpm-fw in QEMU (TCG): the boot reaches every init stage in order, manufactures the TPM with
// the EK asked for, and the self-test passes with the pass status; each deliberate fault ends in
// a clean panic report (cause, RIP resolving to the faulting function, backtrace) with the fail
// status instead of a triple fault or a hang; a CPU without RDRAND/RDSEED and a guest too small
// for the firmware region stop loudly; the serial link serves tpm2-tools through
// cvtpm-tpm-bridge with every command passing through SVSM_VTPM_CMD, and the EK the attestation
// manifest carries is the one tpm2_createek computes.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "cvtpm/support/digest.h"

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

TEST(FirmwareBoot, InitStagesTpmManufacturedThenSelfTestPasses) {
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
                             // RSA-2048 unless the command line says otherwise
                             "init: tpm: manufactured in ",
                             "EK rsa2048 (314-byte TPMT_PUBLIC)",
                             "SVSM vTPM protocol offers TPM_SEND_COMMAND",
                             "init: tpm: native guest pages 0x7ffa000-0x8000000",
                             "ready: vTPM up in ",
                             "selftest: start",
                             "OpenSSL SHA-384(\"abc\") known answer      PASS",
                             "OpenSSL ECDSA P-384 known signature      PASS",
                             "OpenSSL ECDSA rejects a corrupted one    PASS",
                             "libtpms's 35 EVP ciphers run             PASS",
                             "libtpms's ciphers known answer (host OpenSSL) PASS",
                             "libtpms's digests by name (SHA-1/256/384/512) PASS",
                             "RSA/EC keys, RSA/ECDSA signatures, RSA-OAEP, CTR-DRBG PASS",
                             "trimmed: no MD5, ChaCha20, X25519, HMAC, HKDF PASS",
                             "TPM manufactured at boot                 PASS  EK rsa2048",
                             "SVSM_CORE_QUERY_PROTOCOL(vTPM 1)         PASS",
                             "TPM2_Startup(CLEAR) via SVSM_VTPM_CMD    PASS",
                             "TPM2_GetRandom(32) twice, different      PASS",
                             "TPM2_CreatePrimary(ECC P-256)            PASS",
                             "primary key's point is on P-256 (libcrypto) PASS",
                             "TPM2_FlushContext                        PASS",
                             "TPM2_CreatePrimary(TCG EK template) = the EK PASS",
                             "SVSM_ATTEST_SINGLE_SERVICE: manifest = EK PASS  314-byte manifest",
                             "SVSM_ATTEST_SERVICES: manifest holds the EK PASS  362-byte manifest",
                             "SVSM_VTPM_CMD refuses firmware memory, locality 1, RCX 0 PASS  "
                             "0x80000003 0x80000005 0x80000005, 0 TPM commands ran",
                             "native PVALIDATE (always valid) and CREATE_VCPU (no VMSAs) PASS  "
                             "0x80001010 0x0 0x80001001 0x80000003 0x80000005",
                             "selftest: PASSED (34 checks)",
                             "memory after the self-test: image ",
                             "exiting with the pass status",
                         });
  EXPECT_EQ(r.out.find("FAIL"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("PANIC"), std::string::npos) << r.out;
}

// ek= chooses the endorsement key the boot manufactures; the self-test checks it end to end.
TEST(FirmwareBoot, EkOptionChoosesTheManufacturedEk) {
  REQUIRE_QEMU();
  for (const auto& [option, expected] : std::vector<std::pair<std::string, std::string>>{
           {"ecc-p256", "122-byte TPMT_PUBLIC"}, {"ecc-p384", "170-byte TPMT_PUBLIC"}}) {
    const auto r = run_qemu(boot_with("selftest ek=" + option));
    ASSERT_FALSE(r.timed_out) << r.out;
    EXPECT_EQ(r.exit_code, kQemuPassStatus) << r.out;
    expect_in_order(
        r.out, {"EK " + option + " (" + expected, "TPM manufactured at boot", "PASS  EK " + option,
                "TPM2_CreatePrimary(TCG EK template) = the EK PASS", "selftest: PASSED"});
  }
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
// The vTPM served over the serial link, through QEMU's chardev and cvtpm-tpm-bridge.

class FirmwareLink : public ::testing::Test {
 protected:
  void start(const std::string& append) {
    const std::string socket = (dir / "link.sock").string();
    QemuOptions o;
    o.append = append;
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
    // The link comes up once the TPM is manufactured (an RSA EK takes a while under TCG).
    for (int i = 0; i < 3000 && bridge_log().find("link up") == std::string::npos; ++i) {
      std::this_thread::sleep_for(20ms);
    }
    ASSERT_NE(bridge_log().find("firmware link up"), std::string::npos) << bridge_log();
  }
  void SetUp() override {
    if (!have_qemu()) GTEST_SKIP() << "qemu-system-x86_64 is not installed (qemu-system-x86)";
    if (!std::filesystem::exists("/usr/bin/tpm2_startup")) {
      GTEST_SKIP() << "tpm2-tools are not installed (Debian: tpm2-tools)";
    }
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
  cvtpm::ProcessResult tool(std::vector<std::string> argv) {
    argv.insert(argv.begin() + 1, {"-T", "swtpm:host=127.0.0.1,port=" + std::to_string(port)});
    return cvtpm::run_process(argv, dir.path(), 120s);
  }
  cvtpm::testing::TempDir dir;
  std::unique_ptr<cvtpm::ChildProcess> qemu;
  std::unique_ptr<cvtpm::ChildProcess> bridge;
  std::uint16_t port = 0;
};

TEST_F(FirmwareLink, Tpm2ToolsGetAnswersFromTheTpmThroughSvsmVtpmCmd) {
  start("loglevel=debug ek=ecc-p256");
  const auto started = tool({"tpm2_startup", "-c"});
  ASSERT_EQ(started.exit_code, 0) << started.err << console_log();
  std::set<std::string> randoms;
  for (int i = 0; i < 20; ++i) {
    const auto r = tool({"tpm2_getrandom", "8", "--hex"});
    ASSERT_EQ(r.exit_code, 0) << "run " << i << ": " << r.err;
    ASSERT_TRUE(std::regex_match(r.out, std::regex("[0-9a-f]{16}"))) << r.out;
    randoms.insert(r.out);
  }
  EXPECT_EQ(randoms.size(), 20u);
  // Each command went through SVSM_VTPM_CMD in the native guest's page with the bytes a guest
  // writes: TPM_SEND_COMMAND (8, LE), locality 0, the size (LE; TPM2_GetRandom is 12 bytes).
  expect_in_order(console_log(),
                  {"tpm link: serving the vTPM on 0x2f8",
                   "tpm: TPM_CC 0x00000144, 12 bytes, locality 0 -> SVSM_VTPM_CMD "
                   "RAX=0x200000001 RCX=0x7ffb000 request header 08000000000c000000 -> "
                   "SVSM_SUCCESS, response 10 bytes, TPM_RC 0x00000000",
                   "tpm: TPM_CC 0x0000017b, 12 bytes, locality 0 -> SVSM_VTPM_CMD "
                   "RAX=0x200000001 RCX=0x7ffb000 request header 08000000000c000000 -> "
                   "SVSM_SUCCESS, response 20 bytes, TPM_RC 0x00000000"});
  // When the link goes quiet after traffic, a new memory peak is logged (the benchmark's source).
  expect_in_order(console_log(),
                  {"tpm link: serving the vTPM on 0x2f8", "memory peak while serving: image "});
}

std::uint32_t be32_at(const std::vector<std::uint8_t>& b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) << 24 | static_cast<std::uint32_t>(b[at + 1]) << 16 |
         static_cast<std::uint32_t>(b[at + 2]) << 8 | b[at + 3];
}

struct EkCase {
  const char* option;
  const char* createek_algorithm;
};

// Names the case in test listings (instead of its bytes).
void PrintTo(const EkCase& c, std::ostream* os) {
  *os << "ek=" << c.option;
}

class FirmwareAttestation : public FirmwareLink, public ::testing::WithParamInterface<EkCase> {};

// The EK the firmware attests (the SVSM manifest, fetched through the bridge's control port with
// cvtpm's attestation extension) is byte for byte what tpm2_createek computes through the TPM,
// REPORT_DATA = SHA-512(nonce || manifest), and the native report says it is not attested.
TEST_P(FirmwareAttestation, ManifestHoldsTheEkThatTpm2CreateekReturns) {
  start(std::string("ek=") + GetParam().option);
  ASSERT_EQ(tool({"tpm2_startup", "-c"}).exit_code, 0);
  const auto created = tool({"tpm2_createek", "-c", "ek.ctx", "-G", GetParam().createek_algorithm,
                             "-u", "ek.pub", "-f", "tpmt"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::ifstream in(dir / "ek.pub", std::ios::binary);
  const std::vector<std::uint8_t> ek((std::istreambuf_iterator<char>(in)), {});
  ASSERT_GT(ek.size(), 100u);

  std::vector<std::uint8_t> nonce(64);
  for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<std::uint8_t>(255 - i);
  for (std::uint8_t mode : {1, 0}) {
    LoopbackClient control(static_cast<std::uint16_t>(port + 1), 120s);
    std::vector<std::uint8_t> request = {0x43, 0x56, 0x00, 0x01, mode};
    request.insert(request.end(), nonce.begin(), nonce.end());
    control.send(request);
    const auto head = control.receive(24);
    ASSERT_EQ(be32_at(head, 0), 0u) << "mode " << int{mode};
    EXPECT_EQ(be32_at(head, 4), 0u);
    EXPECT_EQ(be32_at(head, 8), 0u);  // RAX = SVSM_SUCCESS
    const auto report = control.receive(be32_at(head, 12));
    const auto manifest = control.receive(be32_at(head, 16));
    EXPECT_EQ(be32_at(head, 20), 0u);  // no certificates natively
    const std::vector<std::uint8_t> ek_in_manifest =
        mode == 1 ? manifest : std::vector<std::uint8_t>(manifest.begin() + 0x30, manifest.end());
    EXPECT_EQ(ek_in_manifest, ek) << "mode " << int{mode};
    ASSERT_EQ(report.size(), 0x4A0u);
    std::vector<std::uint8_t> material = nonce;
    material.insert(material.end(), manifest.begin(), manifest.end());
    const auto expected = cvtpm::sha512(material);
    EXPECT_EQ(std::vector<std::uint8_t>(report.begin() + 0x50, report.begin() + 0x90),
              std::vector<std::uint8_t>(expected.begin(), expected.end()));
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(report.data() + 0xC0)),
              "cvtpm native: NOT ATTESTED");
    EXPECT_EQ(report[0x34], 0) << "signature algorithm: none";
  }
}

INSTANTIATE_TEST_SUITE_P(Eks, FirmwareAttestation,
                         ::testing::Values(EkCase{"rsa2048", "rsa"}, EkCase{"ecc-p256", "ecc"},
                                           EkCase{"ecc-p384", "ecc384"}),
                         [](const auto& param_info) {
                           std::string name = param_info.param.option;
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

}  // namespace
}  // namespace cvtpm::fw::testing
