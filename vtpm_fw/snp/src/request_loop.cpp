#include "cvtpm/snp/request_loop.h"

#include "cvtpm/formats/snp/ghcb.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/snp/ghcb_msr.h"
#include "cvtpm/snp/vmsa_builder.h"

namespace cvtpm::snp {

namespace fs = formats::snp;

namespace {

// Runs `fn` on the VMSA at gpa through a private mapping; false if it cannot be mapped.
template <typename Fn>
bool with_vmsa(SnpHardware& hardware, std::uint64_t gpa, Fn fn) {
  Mapping page(hardware, gpa, kPageSize, Encryption::kPrivate);
  if (!page) return false;
  fn(*reinterpret_cast<fs::Vmsa*>(page.data()));
  return true;
}

}  // namespace

RequestLoop::Step RequestLoop::run_once() {
  VcpuTable& vcpus = platform_.vcpus();
  // The vCPU table and the VMSAs in it change only under the service lock (CREATE_VCPU and
  // DELETE_VCPU run inside a call).
  platform_.lock();
  std::size_t slot = vcpus.find_apic(apic_id_);
  if (slot == VcpuTable::kCapacity) {
    platform_.unlock();
    return Step::kNoGuest;
  }
  const std::uint64_t entered = vcpus[slot].vmsa_gpa;
  if (!with_vmsa(hardware_, entered, [](fs::Vmsa& v) { v.efer |= kEferSvme; })) {
    platform_.unlock();
    last_error_ = {"guest VMSA not accessible", entered};
    return Step::kRunFailed;
  }
  platform_.unlock();

  const SnpStatus ran = msr_protocol::run_vmpl(hardware_, platform_.config().guest_vmpl);

  platform_.lock();
  // While the guest ran, it may have replaced this vCPU's VMSA (CPU hotplug: a new VMSA for the
  // APIC ID, AP creation, the old one deleted): the VMSA that came back is the current one.
  slot = vcpus.find_apic(apic_id_);
  if (slot == VcpuTable::kCapacity) {
    platform_.unlock();
    return Step::kNoGuest;
  }
  const std::uint64_t vmsa_gpa = vcpus[slot].vmsa_gpa;
  if (vmsa_gpa != entered && vcpus.find_vmsa(entered) != VcpuTable::kCapacity) {
    // The replaced one stays a VMSA until DELETE_VCPU, but not a runnable one.
    (void)with_vmsa(hardware_, entered, [](fs::Vmsa& v) { v.efer &= ~kEferSvme; });
  }
  std::uint64_t exit_code = 0;
  vtpm::SvsmRegisters regs{};
  const bool read = with_vmsa(hardware_, vmsa_gpa, [&](fs::Vmsa& v) {
    v.efer &= ~kEferSvme;
    exit_code = v.guest_exit_code;
    regs = {v.rax, v.rcx, v.rdx, v.r8, v.r9};
  });
  Step step = Step::kNoCall;
  if (!read) {
    last_error_ = {"guest VMSA not accessible", vmsa_gpa};
    step = Step::kRunFailed;
  } else if (!ran) {
    last_error_ = ran.error();
    step = Step::kRunFailed;
  } else if (exit_code == fs::ghcb_exit::kVmgexit) {
    platform_.set_current(&hardware_, &ghcb_);
    const vtpm::CallContext context{static_cast<std::uint32_t>(slot), vcpus[slot].caa_gpa};
    const vtpm::ServeOutcome outcome = dispatcher_.serve_pending(context, regs);
    platform_.set_current(nullptr, nullptr);
    if (outcome == vtpm::ServeOutcome::kServed) {
      // A call may have deleted this very VMSA (then the page is the guest's again): results
      // only go into a VMSA that is still one.
      if (vcpus.find_vmsa(vmsa_gpa) == VcpuTable::kCapacity) {
        step = Step::kNoGuest;
      } else if (!with_vmsa(hardware_, vmsa_gpa, [&](fs::Vmsa& v) {
                   v.rax = regs.rax;
                   v.rcx = regs.rcx;
                   v.rdx = regs.rdx;
                   v.r8 = regs.r8;
                   v.r9 = regs.r9;
                 })) {
        last_error_ = {"guest VMSA not accessible", vmsa_gpa};
        step = Step::kRunFailed;
      } else {
        ++calls_served_;
        step = Step::kServed;
      }
    }
  }
  platform_.unlock();
  return step;
}

}  // namespace cvtpm::snp
