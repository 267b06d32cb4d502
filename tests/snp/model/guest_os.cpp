#include "model/guest_os.h"

#include <cstring>
#include <string>

#include "cvtpm/formats/snp/ghcb.h"
#include "cvtpm/formats/snp/ghcb_msr_protocol.h"
#include "cvtpm/formats/snp/secrets_page.h"

namespace cvtpm::snp::model {

namespace fs = formats::snp;
namespace msr = formats::snp::ghcb_msr;
using vtpm::SvsmRegisters;
using vtpm::SvsmResult;

namespace {

std::string hex(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

void put64(std::vector<std::uint8_t>& page, std::size_t offset, std::uint64_t value) {
  std::memcpy(page.data() + offset, &value, 8);
  const std::size_t bit = offset / 8;
  std::uint64_t word;
  std::memcpy(&word, page.data() + offsetof(fs::Ghcb, valid_bitmap) + bit / 64 * 8, 8);
  word |= std::uint64_t{1} << (bit % 64);
  std::memcpy(page.data() + offsetof(fs::Ghcb, valid_bitmap) + bit / 64 * 8, &word, 8);
}

std::uint64_t get64(const std::vector<std::uint8_t>& page, std::size_t offset) {
  std::uint64_t v;
  std::memcpy(&v, page.data() + offset, 8);
  return v;
}

// One MSR protocol request from the guest; returns the response.
std::uint64_t msr_request(GuestCpu& cpu, std::uint64_t request) {
  cpu.set_ghcb_msr(request);
  cpu.vmgexit();
  return cpu.ghcb_msr();
}

}  // namespace

SvsmDiscovery read_secrets(GuestCpu& cpu, std::uint64_t secrets_gpa) {
  const auto page = cpu.read_object<fs::SecretsPage>(secrets_gpa);
  SvsmDiscovery d;
  d.present = page.svsm_size != 0;
  d.base = page.svsm_base;
  d.size = page.svsm_size;
  d.caa = page.svsm_caa;
  d.max_version = page.svsm_max_version;
  d.vmpl = page.svsm_guest_vmpl;
  for (std::size_t i = 0; i < 4; ++i) std::memcpy(d.vmpck[i].data(), page.vmpck[i], 32);
  return d;
}

void GuestSvsm::setup_ghcb(std::uint64_t gpa) {
  const std::uint64_t psc = msr_request(cpu_, msr::page_state_request(gpa, msr::kPageStateShared));
  if (msr::info(psc) != msr::kPageStateResponse || msr::response_error(psc) != 0) {
    throw GuestError("guest: the hypervisor did not share the GHCB page " + hex(gpa));
  }
  const std::uint64_t reg = msr_request(cpu_, msr::register_ghcb_request(gpa));
  if (msr::info(reg) != msr::kRegisterGhcbResponse || (reg & ~msr::kInfoMask) != gpa) {
    throw GuestError("guest: GHCB registration refused");
  }
  cpu_.write_shared(gpa, std::vector<std::uint8_t>(4096, 0));
  ghcb_ = gpa;
}

bool GuestSvsm::vmgexit_to_svsm() {
  if (transport_ == Transport::kMsr) {
    const std::uint64_t saved = cpu_.ghcb_msr();
    const std::uint64_t response = msr_request(cpu_, msr::run_vmpl_request(0));
    cpu_.set_ghcb_msr(saved);
    return msr::info(response) == msr::kRunVmplResponse && msr::response_error(response) == 0;
  }
  if (ghcb_ == 0) throw GuestError("guest: GHCB transport without a GHCB");
  std::vector<std::uint8_t> page(4096, 0);
  put64(page, offsetof(fs::Ghcb, sw_exit_code), fs::ghcb_exit::kRunVmpl);
  put64(page, offsetof(fs::Ghcb, sw_exit_info_1), 0);
  put64(page, offsetof(fs::Ghcb, sw_exit_info_2), 0);
  const std::uint16_t version = fs::kGhcbProtocolVersion;
  std::memcpy(page.data() + offsetof(fs::Ghcb, protocol_version), &version, 2);
  cpu_.write_shared(ghcb_, page);
  cpu_.set_ghcb_msr(ghcb_);
  cpu_.vmgexit();
  const auto after = cpu_.read_shared(ghcb_, 4096);
  return static_cast<std::uint32_t>(get64(after, offsetof(fs::Ghcb, sw_exit_info_1))) == 0;
}

GuestSvsm::Round GuestSvsm::call_once(const SvsmRegisters& in, bool set_pending) {
  if (set_pending) cpu_.write(caa_, std::vector<std::uint8_t>{1});
  cpu_.regs.rax = in.rax;
  cpu_.regs.rcx = in.rcx;
  cpu_.regs.rdx = in.rdx;
  cpu_.regs.r8 = in.r8;
  cpu_.regs.r9 = in.r9;
  Round round;
  round.transport_ok = vmgexit_to_svsm();
  round.out = {cpu_.regs.rax, cpu_.regs.rcx, cpu_.regs.rdx, cpu_.regs.r8, cpu_.regs.r9};
  round.call_pending_after = cpu_.exchange8(caa_, 0);
  ++calls_;
  return round;
}

SvsmRegisters GuestSvsm::call(const SvsmRegisters& in, unsigned max_retries) {
  for (unsigned attempt = 0;; ++attempt) {
    const Round round = call_once(in);
    if (!round.transport_ok) throw GuestError("guest: the hypervisor did not switch to VMPL0");
    if (round.call_pending_after != 0) {
      throw GuestError("guest: the SVSM did not serve the call (call_pending still set)");
    }
    const auto result = static_cast<SvsmResult>(round.out.rax);
    if ((result == SvsmResult::kIncomplete || result == SvsmResult::kBusy) &&
        attempt < max_retries) {
      continue;
    }
    return round.out;
  }
}

void GuestSvsm::ap_create(std::uint32_t apic_id, std::uint64_t vmsa_gpa,
                          std::uint64_t sev_features) {
  if (ghcb_ == 0) throw GuestError("guest: AP creation needs a GHCB");
  std::vector<std::uint8_t> page(4096, 0);
  put64(page, offsetof(fs::Ghcb, rax), sev_features);
  put64(page, offsetof(fs::Ghcb, sw_exit_code), fs::ghcb_exit::kApCreation);
  put64(page, offsetof(fs::Ghcb, sw_exit_info_1),
        fs::ap_creation::exit_info_1(fs::ap_creation::kCreate, cpu_.vmpl(), apic_id));
  put64(page, offsetof(fs::Ghcb, sw_exit_info_2), vmsa_gpa);
  cpu_.write_shared(ghcb_, page);
  cpu_.set_ghcb_msr(ghcb_);
  cpu_.vmgexit();
  const auto after = cpu_.read_shared(ghcb_, 4096);
  if (static_cast<std::uint32_t>(get64(after, offsetof(fs::Ghcb, sw_exit_info_1))) != 0) {
    throw GuestError("guest: AP creation refused by the hypervisor");
  }
}

void GuestSvsm::page_state_change(std::uint64_t gpa, bool shared) {
  const std::uint64_t response = msr_request(
      cpu_, msr::page_state_request(gpa, shared ? msr::kPageStateShared : msr::kPageStatePrivate));
  if (msr::info(response) != msr::kPageStateResponse || msr::response_error(response) != 0) {
    throw GuestError("guest: page state change of " + hex(gpa) + " refused");
  }
}

void GuestSvsm::ap_hlt_loop() {
  if (ghcb_ == 0) throw GuestError("guest: the AP halt loop needs a GHCB");
  for (;;) {
    std::vector<std::uint8_t> page(4096, 0);
    put64(page, offsetof(fs::Ghcb, sw_exit_code), fs::ghcb_exit::kApHltLoop);
    put64(page, offsetof(fs::Ghcb, sw_exit_info_1), 0);
    put64(page, offsetof(fs::Ghcb, sw_exit_info_2), 0);
    cpu_.write_shared(ghcb_, page);
    cpu_.set_ghcb_msr(ghcb_);
    cpu_.vmgexit();
    // "Wakeup signal?": a valid, non-zero sw_exit_info_2 ends the loop.
    if (get64(cpu_.read_shared(ghcb_, 4096), offsetof(fs::Ghcb, sw_exit_info_2)) != 0) return;
  }
}

std::uint64_t pvalidate_entry(std::uint64_t gpa, bool validate, bool large, bool ignore_cf) {
  std::uint64_t e = gpa & vtpm::pvalidate_entry::kGfnMask;
  if (large) e |= vtpm::pvalidate_entry::kPageSize2M;
  if (validate) e |= vtpm::pvalidate_entry::kValidate;
  if (ignore_cf) e |= vtpm::pvalidate_entry::kIgnoreCf;
  return e;
}

SvsmResult svsm_pvalidate(GuestSvsm& svsm, std::span<const std::uint64_t> entries) {
  const std::uint64_t list = svsm.caa() + vtpm::kCallingAreaBufferOffset;
  std::vector<std::uint8_t> bytes(8 + entries.size() * 8, 0);
  const auto count = static_cast<std::uint16_t>(entries.size());
  std::memcpy(bytes.data(), &count, 2);
  std::memcpy(bytes.data() + 8, entries.data(), entries.size() * 8);
  svsm.cpu().write(list, bytes);
  const SvsmRegisters out = svsm.call(
      {vtpm::call_rax(vtpm::Protocol::kCore, vtpm::core_call::kPvalidate), list, 0, 0, 0});
  return static_cast<SvsmResult>(out.rax);
}

void accept_memory(GuestSvsm& svsm, std::uint64_t gpa, std::size_t pages) {
  constexpr std::size_t kBatch = 510;
  for (std::size_t done = 0; done < pages;) {
    const std::size_t n = std::min(kBatch, pages - done);
    std::vector<std::uint64_t> entries;
    for (std::size_t i = 0; i < n; ++i)
      entries.push_back(pvalidate_entry(gpa + (done + i) * 4096, true));
    const SvsmResult r = svsm_pvalidate(svsm, entries);
    if (r != SvsmResult::kSuccess) {
      throw GuestError("guest: PVALIDATE of " + hex(gpa + done * 4096) +
                       " failed: " + hex(static_cast<std::uint64_t>(r)));
    }
    done += n;
  }
}

bool GuestTpm::probe() {
  const SvsmRegisters out =
      svsm_.call({vtpm::call_rax(vtpm::Protocol::kVtpm, vtpm::vtpm_call::kQuery), 0, 0, 0, 0});
  return static_cast<SvsmResult>(out.rax) == SvsmResult::kSuccess &&
         (out.rcx & (std::uint64_t{1} << vtpm::platform_command::kSendCommand)) != 0;
}

GuestTpm::Exchange GuestTpm::transmit(std::span<const std::uint8_t> command,
                                      std::uint8_t locality) {
  if (command.size() > vtpm::kMaxTpmCommandSize) throw std::invalid_argument("command too large");
  std::vector<std::uint8_t> request(9 + command.size());
  const std::uint32_t cmd = vtpm::platform_command::kSendCommand;
  const auto size = static_cast<std::uint32_t>(command.size());
  std::memcpy(request.data(), &cmd, 4);
  request[4] = locality;
  std::memcpy(request.data() + 5, &size, 4);
  std::memcpy(request.data() + 9, command.data(), command.size());
  svsm_.cpu().write(buffer_, request);
  const SvsmRegisters out =
      svsm_.call({vtpm::call_rax(vtpm::Protocol::kVtpm, vtpm::vtpm_call::kCmd), buffer_, 0, 0, 0});
  Exchange ex{static_cast<SvsmResult>(out.rax), {}};
  if (ex.result != SvsmResult::kSuccess) return ex;
  const auto header = svsm_.cpu().read(buffer_, 4);
  std::uint32_t response_size;
  std::memcpy(&response_size, header.data(), 4);
  if (response_size > vtpm::kMaxTpmResponseSize) throw GuestError("guest: oversized TPM response");
  ex.response = svsm_.cpu().read(buffer_ + 4, response_size);
  return ex;
}

GuestEvidence svsm_attest(GuestSvsm& svsm, std::uint64_t scratch_gpa, std::uint64_t scratch_size,
                          std::span<const std::uint8_t, 64> nonce,
                          const std::optional<formats::Guid>& service) {
  GuestCpu& cpu = svsm.cpu();
  const std::uint64_t nonce_gpa = scratch_gpa;
  // Linux's sev_svsm_report_new: report 4 KiB, manifest 4 KiB, certificates 16 KiB
  // (SEV_FW_BLOB_MAX_SIZE), grown on INVALID_PARAMETER.
  std::uint64_t report_size = 4096;
  std::uint64_t manifest_size = 4096;
  std::uint64_t certificates_size = 0x4000;
  cpu.write(nonce_gpa, nonce);
  for (int attempt = 0; attempt < 4; ++attempt) {
    const std::uint64_t report_gpa = scratch_gpa + 4096;
    const std::uint64_t manifest_gpa = report_gpa + report_size;
    const std::uint64_t certificates_gpa = manifest_gpa + manifest_size;
    if (certificates_gpa + certificates_size > scratch_gpa + scratch_size) {
      throw GuestError("guest: attestation scratch too small");
    }
    vtpm::AttestSingleServiceOp op{};
    op.common.report = {report_gpa, static_cast<std::uint32_t>(report_size), 0};
    op.common.nonce.gpa = nonce_gpa;
    op.common.nonce.size = 64;
    op.common.manifest = {manifest_gpa, static_cast<std::uint32_t>(manifest_size), 0};
    op.common.certificates = {certificates_gpa, static_cast<std::uint32_t>(certificates_size), 0};
    std::size_t op_size = sizeof op.common;
    std::uint32_t call = vtpm::attest_call::kServices;
    if (service) {
      op.service_guid = *service;
      op.manifest_version = vtpm::kVtpmManifestVersion;
      op_size = sizeof op;
      call = vtpm::attest_call::kSingleService;
    }
    const std::uint64_t op_gpa = svsm.caa() + vtpm::kCallingAreaBufferOffset;
    cpu.write(op_gpa, {reinterpret_cast<const std::uint8_t*>(&op), op_size});
    // Linux sets RDX and R8 to -1 to tell returned sizes from unchanged registers.
    const SvsmRegisters out = svsm.call({vtpm::call_rax(vtpm::Protocol::kAttestation, call), op_gpa,
                                         ~std::uint64_t{0}, ~std::uint64_t{0}, 0});
    GuestEvidence ev{static_cast<SvsmResult>(out.rax), {}, {}, {}};
    if (ev.result == SvsmResult::kInvalidParameter &&
        (out.rcx > manifest_size || out.r8 > report_size || out.rdx > certificates_size)) {
      manifest_size = (std::max(out.rcx, manifest_size) + 4095) & ~std::uint64_t{4095};
      report_size = (std::max(out.r8, report_size) + 4095) & ~std::uint64_t{4095};
      certificates_size = (std::max(out.rdx, certificates_size) + 4095) & ~std::uint64_t{4095};
      continue;
    }
    if (ev.result != SvsmResult::kSuccess) return ev;
    ev.report = cpu.read(report_gpa, out.r8);
    ev.manifest = cpu.read(manifest_gpa, out.rcx);
    // RDX = 0: no certificates (Linux then leaves the auxblob empty).
    if (out.rdx != 0) ev.certificates = cpu.read(certificates_gpa, out.rdx);
    return ev;
  }
  throw GuestError("guest: attestation buffers keep growing");
}

}  // namespace cvtpm::snp::model
