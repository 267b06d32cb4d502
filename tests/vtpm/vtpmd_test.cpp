// cvtpm-vtpmd as users meet it: the real binary on loopback ports, driven by tpm2-tools (through
// tpm2-tss' swtpm TCTI) and by raw clients that misbehave.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cvtpm/formats/snp/attestation_report.h"
#include "cvtpm/measure/snp_keys.h"
#include "cvtpm/support/digest.h"
#include "cvtpm/support/process.h"
#include "cvtpm/vtpm_host/test_signer.h"
#include "daemon_process.h"
#include "vtpm_testing.h"

namespace cvtpm::vtpm {
namespace {

using testing::be32_at;
using testing::Bytes;
using testing::ByteWriter;
using testing::Client;
using testing::DaemonProcess;
using testing::tpm_rc;

const std::filesystem::path kDaemon = std::filesystem::path(CVTPM_BIN_DIR) / "cvtpm-vtpmd";

bool have_tpm2_tools() {
  return std::filesystem::exists("/usr/bin/tpm2_startup");
}

#define REQUIRE_TPM2_TOOLS() \
  if (!have_tpm2_tools()) GTEST_SKIP() << "tpm2-tools are not installed (Debian: tpm2-tools)"

ProcessResult tool(const DaemonProcess& d, std::vector<std::string> argv,
                   const std::filesystem::path& cwd = {}) {
  argv.insert(argv.begin() + 1, {"-T", d.tcti()});
  return run_process(argv, cwd, std::chrono::seconds(60));
}

Bytes roundtrip(Client& c, const Bytes& command) {
  c.send(command);
  return c.receive_tpm_response();
}

Bytes be32(std::uint32_t v) {
  return ByteWriter().be32(v).bytes();
}

struct Attestation {
  std::uint32_t result;
  std::uint64_t rax;
  Bytes report, manifest, certificates;
};

// The cvtpm control-channel extension: an SVSM attestation call from the simulated guest.
Attestation attest(DaemonProcess& d, std::uint8_t mode, const std::array<std::uint8_t, 64>& nonce) {
  Client c(static_cast<std::uint16_t>(d.port() + 1));
  ByteWriter message;
  message.be32(0x4356'0001).u8(mode).raw(nonce);
  c.send(message.bytes());
  const Bytes head = c.receive(24);
  Attestation a;
  a.result = be32_at(head, 0);
  a.rax = std::uint64_t{be32_at(head, 4)} << 32 | be32_at(head, 8);
  a.report = c.receive(be32_at(head, 12));
  a.manifest = c.receive(be32_at(head, 16));
  a.certificates = c.receive(be32_at(head, 20));
  return a;
}

TEST(Vtpmd, ServesTpm2ToolsThroughTheSvsmProtocol) {
  REQUIRE_TPM2_TOOLS();
  DaemonProcess d(kDaemon, {"--log-level", "debug"});
  ProcessResult r = tool(d, {"tpm2_startup", "-c"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = tool(d, {"tpm2_getrandom", "--hex", "16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), 32u) << r.out;
  r = tool(d, {"tpm2_getcap", "properties-fixed"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("TPM2_PT_MAX_COMMAND_SIZE:\n  raw: 0xFF7"), std::string::npos) << r.out;
  // Every command went through SVSM_VTPM_CMD with the bytes a guest writes: platform command 8
  // (LE), locality 0, the command size (LE; TPM2_GetRandom is 12 bytes).
  const std::string log = d.log();
  EXPECT_NE(log.find("TPM_CC 0x0000017b, 12 bytes, locality 0 -> SVSM_VTPM_CMD RAX=0x200000001 "
                     "RCX=0x00101000 request header 08000000000c000000 -> SVSM_SUCCESS"),
            std::string::npos)
      << log;
}

struct EkCase {
  const char* ek;
  const char* createek_algorithm;
};

class VtpmdAttestation : public ::testing::TestWithParam<EkCase> {};

TEST_P(VtpmdAttestation, ManifestHoldsTheEkThatTpm2CreateekReturns) {
  REQUIRE_TPM2_TOOLS();
  DaemonProcess d(kDaemon, {"--ek", GetParam().ek});
  ASSERT_EQ(tool(d, {"tpm2_startup", "-c"}).exit_code, 0);
  const ProcessResult created = tool(d,
                                     {"tpm2_createek", "-c", "ek.ctx", "-G",
                                      GetParam().createek_algorithm, "-u", "ek.pub", "-f", "tpmt"},
                                     d.dir().path());
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::ifstream in(d.dir() / "ek.pub", std::ios::binary);
  const Bytes ek((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(ek.size(), 100u);

  std::array<std::uint8_t, 64> nonce;
  for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<std::uint8_t>(255 - i);
  const vtpm::host::TestAttestationSigner signer;
  for (std::uint8_t mode : {1, 0}) {
    const Attestation a = attest(d, mode, nonce);
    ASSERT_EQ(a.result, 0u);
    ASSERT_EQ(a.rax, 0u);
    // SINGLE_SERVICE: the manifest is the EK; SERVICES: the GUID table around it.
    const Bytes ek_in_manifest =
        mode == 1 ? a.manifest : Bytes(a.manifest.begin() + 0x30, a.manifest.end());
    EXPECT_EQ(ek_in_manifest, ek);
    ASSERT_EQ(a.report.size(), 0x4A0u);
    Bytes material(nonce.begin(), nonce.end());
    material.insert(material.end(), a.manifest.begin(), a.manifest.end());
    const auto report_data = sha512(material);
    EXPECT_EQ(Bytes(a.report.begin() + 0x50, a.report.begin() + 0x90),
              Bytes(report_data.begin(), report_data.end()));
    formats::snp::AttestationReport report;
    std::memcpy(&report, a.report.data(), sizeof report);
    EXPECT_TRUE(measure::verify_snp_signature(signer.public_key(),
                                              {a.report.data(), formats::snp::kReportSignedBytes},
                                              report.signature));
    EXPECT_TRUE(a.certificates.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Eks, VtpmdAttestation,
                         ::testing::Values(EkCase{"rsa2048", "rsa"}, EkCase{"ecc-p256", "ecc"},
                                           EkCase{"ecc-p384", "ecc384"}),
                         [](const auto& param_info) {
                           std::string name = param_info.param.ek;
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

TEST(Vtpmd, ControlChannel) {
  DaemonProcess d(kDaemon);
  Bytes reply = d.control(0x01, {}, 8);  // CMD_GET_CAPABILITY
  EXPECT_EQ(be32_at(reply, 0), 0u);
  EXPECT_EQ(be32_at(reply, 4), 0x2C2Fu);  // INIT SHUTDOWN GET_TPMESTABLISHED SET_LOCALITY
                                          // CANCEL STOP GET_CONFIG SET_BUFFERSIZE
  EXPECT_EQ(d.control(0x05, Bytes{0}, 4), be32(0));     // CMD_SET_LOCALITY 0
  EXPECT_EQ(d.control(0x05, Bytes{5}, 4), be32(0x3D));  // TPM_BAD_LOCALITY
  EXPECT_EQ(d.control(0x04, {}, 8), Bytes(8, 0));       // not established
  EXPECT_EQ(d.control(0x0F, {}, 8), Bytes(8, 0));       // CMD_GET_CONFIG
  EXPECT_EQ(d.control(0x09, {}, 4), be32(0));           // CMD_CANCEL_TPM_CMD
  EXPECT_EQ(d.control(0x06, {}, 4), be32(9));           // HASH_START: TPM_FAIL
  reply = d.control(0x11, be32(0), 16);                 // CMD_SET_BUFFERSIZE query
  EXPECT_EQ(reply, ByteWriter().be32(0).be32(4087).be32(4087).be32(4087).bytes());

  // An unknown command: TPM_BAD_ORDINAL, then the connection closes.
  Client c(static_cast<std::uint16_t>(d.port() + 1));
  c.send(ByteWriter().be32(0x55).be32(0).bytes());
  EXPECT_EQ(c.receive_until_closed(), be32(0x0A));
  // Several commands on one connection.
  Client multi(static_cast<std::uint16_t>(d.port() + 1));
  multi.send(ByteWriter().be32(0x05).u8(0).be32(0x0F).bytes());
  EXPECT_EQ(multi.receive(4 + 8), ByteWriter().be32(0).be32(0).be32(0).bytes());
}

TEST(Vtpmd, LocalitiesOtherThanZeroNeverReachTheTpm) {
  DaemonProcess d(kDaemon, {"--log-level", "debug"});
  Client c(d.port());
  ASSERT_EQ(tpm_rc(roundtrip(c, testing::tpm_startup_clear())), 0u);
  ASSERT_EQ(d.control(0x05, Bytes{3}, 4), be32(0));
  EXPECT_EQ(tpm_rc(roundtrip(c, testing::tpm_get_random(8))), 0x907u);  // TPM_RC_LOCALITY
  EXPECT_NE(d.log().find("request header 08000000030c000000 -> SVSM_ERR_INVALID_PARAMETER"),
            std::string::npos)
      << d.log();
  ASSERT_EQ(d.control(0x05, Bytes{0}, 4), be32(0));
  EXPECT_EQ(tpm_rc(roundtrip(c, testing::tpm_get_random(8))), 0u);
}

TEST(Vtpmd, InitResetsTheTpmAndStopPowersItOff) {
  DaemonProcess d(kDaemon);
  Client c(d.port());
  ASSERT_EQ(tpm_rc(roundtrip(c, testing::tpm_startup_clear())), 0u);
  EXPECT_EQ(d.control(0x02, be32(1), 4), be32(0));  // CMD_INIT (delete volatile)
  EXPECT_EQ(tpm_rc(roundtrip(c, testing::tpm_get_random(8))), 0x100u);  // wants TPM2_Startup
  ASSERT_EQ(tpm_rc(roundtrip(c, testing::tpm_startup_clear())), 0u);

  EXPECT_EQ(d.control(0x0E, {}, 4), be32(0));                           // CMD_STOP
  EXPECT_EQ(tpm_rc(roundtrip(c, testing::tpm_get_random(8))), 0x101u);  // TPM_RC_FAILURE
  EXPECT_NE(d.log().find("powered off"), std::string::npos);
  EXPECT_EQ(d.control(0x02, be32(0), 4), be32(0));
  EXPECT_EQ(tpm_rc(roundtrip(c, testing::tpm_startup_clear())), 0u);
}

TEST(Vtpmd, ShutdownCommandStopsTheDaemon) {
  DaemonProcess d(kDaemon);
  EXPECT_EQ(d.control(0x03, {}, 4), be32(0));  // CMD_SHUTDOWN
  EXPECT_EQ(d.wait(std::chrono::seconds(10)), 0);
}

TEST(Vtpmd, SigtermAndSigintStopCleanly) {
  for (int sig : {SIGTERM, SIGINT}) {
    DaemonProcess d(kDaemon);
    Client idle(d.port());  // a connected client does not keep it alive
    Client half(d.port());
    half.send(Bytes{0x80, 0x01, 0x00});  // nor does one in the middle of a command
    // A control round trip: the daemon accepts waiting connections in the order of its poll
    // set, data before control, so both clients above are accepted once it answers.
    ASSERT_EQ(d.control(0x0F, {}, 8), Bytes(8, 0));
    d.signal(sig);
    EXPECT_EQ(d.wait(std::chrono::seconds(10)), 0) << "signal " << sig;
    EXPECT_NE(d.log().find("shutting down"), std::string::npos) << d.log();
    // The two data clients, and perhaps the control client if its close was not seen yet.
    const std::string log = d.log();
    const std::size_t at = log.find("stopped (");
    ASSERT_NE(at, std::string::npos) << log;
    const int open_clients = std::stoi(log.substr(at + 9));
    EXPECT_TRUE(open_clients == 2 || open_clients == 3) << log;
  }
}

TEST(Vtpmd, SurvivesGarbageAndOversizedCommands) {
  DaemonProcess d(kDaemon);
  {
    Client c(d.port());
    const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    c.send({reinterpret_cast<const std::uint8_t*>(http.data()), http.size()});
    const Bytes reply = c.receive_until_closed();
    ASSERT_EQ(reply.size(), 10u);
    EXPECT_EQ(tpm_rc(reply), 0x142u);  // TPM_RC_COMMAND_SIZE, then hung up
  }
  {
    // One byte more than the SVSM buffer carries: refused like the Linux driver refuses it.
    Client c(d.port());
    c.send(ByteWriter().be16(0x8001).be32(4088).be32(0x17B).bytes());
    EXPECT_EQ(tpm_rc(c.receive_until_closed()), 0x142u);
  }
  {
    // Plausible framing with nonsense inside reaches the TPM, which answers with an error.
    Client c(d.port());
    // TPM_RC_VALUE (format 1) for the tag, as swtpm answers too.
    EXPECT_EQ(tpm_rc(roundtrip(c, testing::from_hex("dead 0000000c 00000000 0000"))), 0x84u);
    EXPECT_EQ(tpm_rc(roundtrip(c, testing::tpm_startup_clear())), 0u);  // and it still works
  }
  EXPECT_TRUE(d.running());
}

TEST(Vtpmd, SurvivesClientsThatDisconnectMidCommand) {
  DaemonProcess d(kDaemon, {"--log-level", "debug"});
  {
    Client c(d.port());
    c.send(Bytes{0x80, 0x01, 0x00, 0x00, 0x00});  // half a header
  }
  {
    Client c(d.port());
    Bytes part = ByteWriter().be16(0x8001).be32(100).be32(0x17B).zeros(20).bytes();
    c.send(part);  // 30 of 100 bytes
  }
  {
    // A whole command, but gone before the response (an RSA key takes a while).
    Client c(d.port());
    c.send(testing::tpm_startup_clear());
    (void)c.receive_tpm_response();
    c.send(testing::tpm_create_primary_endorsement(
        testing::expected_ek_template(EkAlgorithm::kRsa2048)));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Client c(d.port());
  const Bytes response = roundtrip(c, testing::tpm_get_random(8));
  EXPECT_EQ(tpm_rc(response), 0u);
  EXPECT_TRUE(d.running());
  EXPECT_NE(d.log().find("disconnected in the middle of a command (5 bytes dropped)"),
            std::string::npos)
      << d.log();
  EXPECT_NE(d.log().find("(30 bytes dropped)"), std::string::npos);
}

TEST(Vtpmd, SeveralClientsAtOnce) {
  DaemonProcess d(kDaemon);
  {
    Client c(d.port());
    ASSERT_EQ(tpm_rc(roundtrip(c, testing::tpm_startup_clear())), 0u);
  }
  constexpr int kClients = 8;
  constexpr int kCommands = 25;
  std::atomic<int> good{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      try {
        std::optional<Client> persistent;
        if (t % 2 == 0) persistent.emplace(d.port());
        for (int i = 0; i < kCommands; ++i) {
          // Odd clients connect per command, as tpm2-tss' swtpm TCTI does.
          std::optional<Client> fresh;
          if (!persistent) fresh.emplace(d.port());
          Client& c = persistent ? *persistent : *fresh;
          const auto n = static_cast<std::uint16_t>(1 + (t * kCommands + i) % 48);
          const Bytes r = roundtrip(c, testing::tpm_get_random(n));
          (tpm_rc(r) == 0 && r.size() == 12u + n ? good : bad)++;
        }
      } catch (const std::exception&) {
        bad++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), kClients * kCommands);
  EXPECT_EQ(bad.load(), 0);
}

TEST(Vtpmd, BadCommandLines) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  for (const Case& c : {
           Case{{}, "--port is required"},
           Case{{"--port", "0"}, "--port: must be between 1 and 65534"},
           Case{{"--port", "65535"}, "--port"},
           Case{{"--port", "http"}, "--port"},
           Case{{"--port", "-1"}, "--port"},
           Case{{"--port", "2321", "--ek", "rsa4096"}, "--ek"},
           Case{{"--port", "2321", "--log-level", "loud"}, "--log-level"},
       }) {
    std::vector<std::string> argv = {kDaemon.string()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const ProcessResult r = run_process(argv, {}, std::chrono::seconds(20));
    EXPECT_EQ(r.exit_code, 2) << c.message;
    EXPECT_TRUE(r.out.empty());
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("cvtpm-vtpmd: error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  const ProcessResult help = run_process({kDaemon.string(), "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--ek"), std::string::npos);
  const ProcessResult version = run_process({kDaemon.string(), "--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("cvtpm-vtpmd ", 0), 0u);
}

TEST(Vtpmd, BusyPortIsABadPort) {
  DaemonProcess first(kDaemon);
  const ProcessResult r = run_process({kDaemon.string(), "--port", std::to_string(first.port())},
                                      {}, std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--port: data port 127.0.0.1:" + std::to_string(first.port()) +
                       ": Address already in use"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace cvtpm::vtpm
