// What the SVSM vTPM path costs on top of libtpms, for TPM2_GetRandom(32) (docs/PERFORMANCE.md):
//   BM_TpmlibProcess      bare TPMLIB_Process on the same TPM: the baseline
//   BM_EngineExecute      the engine's wrapper around it (locality, size checks)
//   BM_SvsmVtpmCmd        the whole SVSM path: the guest writes the TPM_SEND_COMMAND request
//                         into its page and sets call_pending; the SVSM checks the calling area,
//                         decodes RAX, checks the buffer, copies and checks the request, runs
//                         the command, writes the response; the guest reads the response size
//   BM_SvsmVtpmCmd_Flat   the same with a minimal platform whose guest RAM is one fixed window
//                         (Platform::fixed_guest_window: owned and mapped for the platform's
//                         lifetime, so its bounds are the ownership check), as a firmware with an
//                         identity map and static guest pages has it: the dispatcher and protocol
//                         without the test platform's access log, hooks and contract checks
//   BM_SvsmVtpmCmd_FlatChecked  the same flat memory without a fixed window: every access asks
//                         the platform (a virtual guest_owns, read_guest and write_guest), as on a
//                         platform whose guest pages can change owner (SNP)
//   BM_GuestTpmDriver     the same through the host's Linux-like driver (adds its std::vector)
// All share one TPM, started once; run them side by side in one invocation, interleaved.
// CVTPM_BENCH_ITERATIONS=N fixes the iteration count (for instruction counts under callgrind:
// bench/vtpm_dispatch_icount.sh).
#include <benchmark/benchmark.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_memory.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include "cvtpm/vtpm_host/host_vtpm.h"

namespace {

using namespace cvtpm::vtpm;

// TPM2_GetRandom(32).
constexpr std::uint8_t kGetRandom[] = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0c,
                                       0x00, 0x00, 0x01, 0x7b, 0x00, 0x20};
constexpr std::size_t kResponseSize = 10 + 2 + 32;

host::HostVtpmOptions options() {
  host::HostVtpmOptions o;
  o.ek_algorithm = EkAlgorithm::kEccP256;
  return o;
}

host::HostVtpm& vtpm() {
  static host::HostVtpm instance(options());
  static const bool started = [] {
    const std::uint8_t startup[] = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0c,
                                    0x00, 0x00, 0x01, 0x44, 0x00, 0x00};
    const auto exchange = instance.tpm().transmit(startup);
    if (exchange.result != SvsmResult::kSuccess || exchange.response.size() != 10 ||
        exchange.response[9] != 0) {
      throw std::runtime_error("TPM2_Startup failed");
    }
    return true;
  }();
  (void)started;
  return instance;
}

// The TPM is manufactured and started before any benchmark runs, so no benchmark pays for it.
const bool kTpmStarted = (vtpm(), true);

// Applied to every benchmark: a fixed iteration count if CVTPM_BENCH_ITERATIONS is set.
void iterations_from_environment(benchmark::internal::Benchmark* b) {
  if (const char* n = std::getenv("CVTPM_BENCH_ITERATIONS")) b->Iterations(std::atoll(n));
}

void check_response(benchmark::State& state, std::size_t size, const std::uint8_t* response) {
  if (size != kResponseSize || response[6] != 0 || response[7] != 0 || response[8] != 0 ||
      response[9] != 0) {
    char message[96];
    std::snprintf(message, sizeof message,
                  "TPM2_GetRandom failed: %zu-byte response, rc %02x%02x%02x%02x", size,
                  response[6], response[7], response[8], response[9]);
    state.SkipWithError(message);
  }
}

void BM_TpmlibProcess(benchmark::State& state) {
  vtpm();
  unsigned char* response = nullptr;
  std::uint32_t response_size = 0;
  std::uint32_t capacity = 0;
  std::uint8_t command[sizeof kGetRandom];
  for (auto _ : state) {
    std::memcpy(command, kGetRandom, sizeof command);
    TPMLIB_Process(&response, &response_size, &capacity, command, sizeof command);
    benchmark::DoNotOptimize(response);
  }
  check_response(state, response_size, response);
  TPM_Free(response);
}
BENCHMARK(BM_TpmlibProcess)->Apply(iterations_from_environment);

void BM_EngineExecute(benchmark::State& state) {
  TpmEngine& engine = vtpm().engine();
  std::uint8_t command[sizeof kGetRandom];
  std::span<const std::uint8_t> response;
  for (auto _ : state) {
    std::memcpy(command, kGetRandom, sizeof command);
    auto r = engine.execute(command, 0);
    response = r.value();
    benchmark::DoNotOptimize(response.data());
  }
  check_response(state, response.size(), response.data());
}
BENCHMARK(BM_EngineExecute)->Apply(iterations_from_environment);

void BM_SvsmVtpmCmd(benchmark::State& state) {
  host::HostVtpm& v = vtpm();
  host::HostPlatform& platform = v.platform();
  const std::uint64_t buffer_gpa = v.tpm().buffer_gpa();
  const std::uint64_t caa = platform.vcpus()[0].caa_gpa;
  std::uint8_t* const page = platform.guest_bytes(buffer_gpa, kVtpmBufferSize).data();
  std::uint8_t* const call_pending = platform.guest_bytes(caa, 1).data();
  const TpmSendCommandRequest request{platform_command::kSendCommand, 0, sizeof kGetRandom};
  std::uint32_t response_size = 0;
  for (auto _ : state) {
    // Guest: request into its page, call_pending, registers, VMGEXIT.
    std::memcpy(page, &request, sizeof request);
    std::memcpy(page + sizeof request, kGetRandom, sizeof kGetRandom);
    *call_pending = 1;
    SvsmRegisters regs{call_rax(Protocol::kVtpm, vtpm_call::kCmd), buffer_gpa, 0, 0, 0};
    v.dispatcher().serve_pending(CallContext{0, caa}, regs);
    // Guest: back from VMGEXIT, the response size.
    std::memcpy(&response_size, page, sizeof response_size);
    benchmark::DoNotOptimize(response_size);
    if (regs.rax != 0 || *call_pending != 0) state.SkipWithError("SVSM call failed");
  }
  check_response(state, response_size, page + 4);
}
BENCHMARK(BM_SvsmVtpmCmd)->Apply(iterations_from_environment);

// Guest RAM as one flat array, mapped flat. With `fixed` all of it is the fixed window (nothing
// can take it from the guest: no PVALIDATE, no VMSAs); without, the platform answers every
// ownership question and maps every access itself, as one whose guest pages can change owner
// must (SNP). Only what the vTPM path uses.
class FlatPlatform final : public Platform {
 public:
  static constexpr std::uint64_t kBase = 0x10'0000;
  FlatPlatform(Allocator& allocator, bool fixed)
      : memory_(0x10000), allocator_(allocator), fixed_(fixed) {}
  std::uint8_t* at(std::uint64_t gpa) { return memory_.data() + (gpa - kBase); }

  bool guest_owns(std::uint64_t gpa, std::uint64_t size) override {
    return gpa >= kBase && gpa + size <= kBase + memory_.size();
  }
  bool read_guest(std::uint64_t gpa, std::span<std::uint8_t> out) override {
    std::memcpy(out.data(), at(gpa), out.size());
    return true;
  }
  bool write_guest(std::uint64_t gpa, std::span<const std::uint8_t> first,
                   std::span<const std::uint8_t> second) override {
    if (!first.empty()) std::memcpy(at(gpa), first.data(), first.size());
    if (!second.empty()) std::memcpy(at(gpa) + first.size(), second.data(), second.size());
    return true;
  }
  bool exchange_guest_byte(std::uint64_t gpa, std::uint8_t value, std::uint8_t& old) override {
    old = std::exchange(*at(gpa), value);
    return true;
  }
  GuestWindow fixed_guest_window() const override {
    if (!fixed_) return {};
    return {kBase, kBase + memory_.size(),
            reinterpret_cast<std::uintptr_t>(memory_.data()) - kBase};
  }
  PvalidateStatus pvalidate(std::uint64_t, PageSize, bool) override { std::abort(); }
  SvsmResult create_vcpu(std::uint64_t, std::uint64_t, std::uint32_t) override { std::abort(); }
  SvsmResult delete_vcpu(std::uint64_t) override { std::abort(); }
  SvsmResult remap_ca(std::uint32_t, std::uint64_t) override { std::abort(); }
  std::size_t report_size() override { std::abort(); }
  std::size_t certificates_size() override { std::abort(); }
  SvsmResult attestation_report(const ReportData&, std::span<std::uint8_t>,
                                std::span<std::uint8_t>) override {
    std::abort();
  }
  bool sha512(std::span<const std::uint8_t>, Sha512Digest&) override { std::abort(); }
  Allocator& allocator() override { return allocator_; }

 private:
  std::vector<std::uint8_t> memory_;
  Allocator& allocator_;
  bool fixed_;
};

// A flat platform and its dispatcher, built before any benchmark runs (like the TPM), so that no
// benchmark pays for zeroing its 64 KiB.
struct FlatService {
  explicit FlatService(bool fixed)
      : platform(vtpm().platform().allocator(), fixed), dispatcher(platform, &vtpm().engine()) {}
  FlatPlatform platform;
  Dispatcher dispatcher;
};

FlatService& flat_service(bool fixed_window) {
  static FlatService fixed(true);
  static FlatService checked(false);
  return fixed_window ? fixed : checked;
}

const bool kFlatServicesBuilt = (flat_service(true), flat_service(false), true);

void svsm_vtpm_cmd_flat(benchmark::State& state, bool fixed_window) {
  FlatPlatform& platform = flat_service(fixed_window).platform;
  Dispatcher& dispatcher = flat_service(fixed_window).dispatcher;
  const std::uint64_t caa = FlatPlatform::kBase;
  const std::uint64_t buffer_gpa = FlatPlatform::kBase + 0x1000;
  std::uint8_t* const page = platform.at(buffer_gpa);
  std::uint8_t* const call_pending = platform.at(caa);
  const TpmSendCommandRequest request{platform_command::kSendCommand, 0, sizeof kGetRandom};
  std::uint32_t response_size = 0;
  for (auto _ : state) {
    std::memcpy(page, &request, sizeof request);
    std::memcpy(page + sizeof request, kGetRandom, sizeof kGetRandom);
    *call_pending = 1;
    SvsmRegisters regs{call_rax(Protocol::kVtpm, vtpm_call::kCmd), buffer_gpa, 0, 0, 0};
    dispatcher.serve_pending(CallContext{0, caa}, regs);
    std::memcpy(&response_size, page, sizeof response_size);
    benchmark::DoNotOptimize(response_size);
    if (regs.rax != 0 || *call_pending != 0) state.SkipWithError("SVSM call failed");
  }
  check_response(state, response_size, page + 4);
}

void BM_SvsmVtpmCmd_Flat(benchmark::State& state) {
  svsm_vtpm_cmd_flat(state, true);
}
BENCHMARK(BM_SvsmVtpmCmd_Flat)->Apply(iterations_from_environment);

void BM_SvsmVtpmCmd_FlatChecked(benchmark::State& state) {
  svsm_vtpm_cmd_flat(state, false);
}
BENCHMARK(BM_SvsmVtpmCmd_FlatChecked)->Apply(iterations_from_environment);

void BM_GuestTpmDriver(benchmark::State& state) {
  host::GuestTpmDriver& driver = vtpm().tpm();
  host::GuestTpmDriver::Exchange exchange;
  for (auto _ : state) {
    exchange = driver.transmit(kGetRandom);
    benchmark::DoNotOptimize(exchange.response.data());
  }
  check_response(state, exchange.response.size(), exchange.response.data());
}
BENCHMARK(BM_GuestTpmDriver)->Apply(iterations_from_environment);

}  // namespace
