// Fuzzes the SNP request loop's inputs on the model (tests/snp): a booted firmware, a guest
// program that writes the input into its calling area and a scratch page and issues one SVSM
// call with the input's registers, through the real boot vCPU loop. After every call the security
// invariants (tests/snp/snp_fixture.h) must hold — no lower-VMPL permission on firmware pages or
// VMSAs, no VMPCK0 outside VMPL0, the validated bitmap agreeing with the RMP, no model fault —
// else the fuzzer aborts and prints the violation. State carries over between inputs, as it does
// in a guest's life.
//
// Input: u8 protocol, u8 call, u8 address selectors (bits: RCX, RDX, R8 point into the calling
// area / scratch / firmware), u8 reserved, 4 x u64 registers (RCX RDX R8 R9), then up to 4088
// bytes for the calling area's buffer followed by up to 4096 bytes for the scratch page.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "cvtpm/vtpm/svsm_abi.h"
#include "cvtpm/vtpm/tpm_engine.h"
#include "cvtpm/vtpm_host/host_allocator.h"
#include "snp_fixture.h"

namespace {

using namespace cvtpm;
using namespace cvtpm::snp::testing;
namespace model = cvtpm::snp::model;

constexpr std::uint64_t kScratch = SnpBoot::kGuestScratch;

std::uint64_t le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

struct World {
  vtpm::host::HostAllocator allocator;
  std::unique_ptr<vtpm::TpmEngine> engine;
  std::unique_ptr<SnpBoot> boot;
  std::uint64_t caa = 0;

  // A freshly booted guest (after a guest program lost access to its own calling area).
  void reboot() {
    boot.reset();
    if (!engine) {
      engine = std::make_unique<vtpm::TpmEngine>(allocator);
      if (!engine->manufacture({vtpm::EkAlgorithm::kEccP256})) std::abort();
    } else if (!engine->power_on()) {
      std::abort();
    }
    boot = std::make_unique<SnpBoot>();
    const snp::SnpStatus s = boot->boot_with(engine.get());
    if (!s) {
      std::fprintf(stderr, "fuzz: boot failed: %s\n", s.error().what);
      std::abort();
    }
    caa = boot->params().guest.caa_gpa;
    const std::uint64_t ca = caa;
    boot->set_guest([ca](GuestCpu& cpu) {
      GuestSvsm svsm(cpu, ca);
      model::accept_memory(svsm, kScratch, 2);
    });
    if (!boot->run_guest_plain().empty()) std::abort();
  }
};

World& world() {
  static World w;
  if (!w.boot) w.reboot();
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kHeader = 4 + 4 * 8;
  if (size < kHeader) return 0;
  World& w = world();
  SnpBoot& b = *w.boot;
  const std::uint64_t firmware = b.params().firmware.gpa;
  std::uint64_t regs[4] = {le64(data + 4), le64(data + 12), le64(data + 20), le64(data + 28)};
  for (int i = 0; i < 3; ++i) {
    switch (data[2] >> (2 * i) & 3) {
      case 1:
        regs[i] = w.caa + 8 + regs[i] % 4088;
        break;
      case 2:
        regs[i] = kScratch + regs[i] % 8192;
        break;
      case 3:
        regs[i] = firmware + regs[i] % b.params().firmware.size;
        break;
      default:
        break;
    }
  }
  const std::size_t buffer_size = std::min<std::size_t>(size - kHeader, 4088);
  const std::vector<std::uint8_t> buffer(data + kHeader, data + kHeader + buffer_size);
  const std::vector<std::uint8_t> scratch(data + kHeader + buffer_size, data + size);
  const std::uint64_t rax = std::uint64_t{data[0]} % 4 << 32 | std::uint64_t{data[1]} % 10;
  std::uint64_t caa = w.caa;
  bool guest_ok = true;
  bool guest_error = false;
  const std::uint64_t served_before = b.firmware().loop().calls_served();
  b.set_guest([&](GuestCpu& cpu) {
    try {
      cpu.write(caa + 8, buffer);
      if (!scratch.empty()) cpu.write(kScratch, scratch);
      GuestSvsm svsm(cpu, caa);
      const vtpm::SvsmRegisters out = svsm.call({rax, regs[0], regs[1], regs[2], regs[3]}, 4);
      if (rax == vtpm::call_rax(vtpm::Protocol::kCore, vtpm::core_call::kRemapCa) &&
          static_cast<vtpm::SvsmResult>(out.rax) == vtpm::SvsmResult::kSuccess) {
        caa = regs[0];
      }
    } catch (const model::ModelFault&) {
      // The guest lost access to one of its own pages (it may rescind them): its own fault.
      cpu.machine().drop_faults_after(cpu.machine().faults().size() - 1);
      guest_ok = false;
    } catch (const model::GuestError&) {
      // call_pending still set after the call: only acceptable if the SVSM served it and the
      // call's own output (a buffer the guest placed over its calling area) rewrote the byte.
      guest_error = true;
    }
  });
  if (const std::string problem = b.run_guest_plain(); !problem.empty()) {
    std::fprintf(stderr, "fuzz: %s\n", problem.c_str());
    std::abort();
  }
  if (guest_error && b.firmware().loop().calls_served() == served_before) {
    std::fprintf(stderr, "fuzz: the SVSM did not serve a call whose call_pending was set\n");
    std::abort();
  }
  const std::vector<std::string> violations = invariant_violations(b);
  if (!violations.empty()) {
    for (const std::string& v : violations)
      std::fprintf(stderr, "invariant violated: %s\n", v.c_str());
    std::abort();
  }
  w.caa = caa;
  if (!guest_ok) w.reboot();
  return 0;
}
