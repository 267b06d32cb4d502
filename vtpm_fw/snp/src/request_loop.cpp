#include "cvtpm/snp/request_loop.h"

#include <cstddef>

#include "cvtpm/formats/snp/ghcb.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/snp/ghcb_msr.h"
#include "cvtpm/snp/vmsa_builder.h"

namespace cvtpm::snp {

namespace fs = formats::snp;

namespace {

// The fields of a guest VMSA the loop touches, through guarded copies: the guest can have the
// hypervisor convert a VMSA page it gave the SVSM, and the SVSM must not stop over it.
template <typename T>
bool load(SnpHardware& hardware, std::uint64_t vmsa_gpa, std::size_t offset, T& value) {
  return hardware.read_guarded(vmsa_gpa + offset, &value, sizeof value);
}

template <typename T>
bool store(SnpHardware& hardware, std::uint64_t vmsa_gpa, std::size_t offset, const T& value) {
  return hardware.write_guarded(vmsa_gpa + offset, &value, sizeof value);
}

// EFER.SVME of the VMSA at gpa set (runnable by the hypervisor) or clear.
bool set_runnable(SnpHardware& hardware, std::uint64_t gpa, bool runnable) {
  std::uint64_t efer = 0;
  if (!load(hardware, gpa, offsetof(fs::Vmsa, efer), efer)) return false;
  efer = runnable ? (efer | kEferSvme) : (efer & ~kEferSvme);
  return store(hardware, gpa, offsetof(fs::Vmsa, efer), efer);
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
  if (!set_runnable(hardware_, entered, true)) {
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
    (void)set_runnable(hardware_, entered, false);
  }
  std::uint64_t exit_code = 0;
  vtpm::SvsmRegisters regs{};
  const bool read = set_runnable(hardware_, vmsa_gpa, false) &&
                    load(hardware_, vmsa_gpa, offsetof(fs::Vmsa, guest_exit_code), exit_code) &&
                    load(hardware_, vmsa_gpa, offsetof(fs::Vmsa, rax), regs.rax) &&
                    load(hardware_, vmsa_gpa, offsetof(fs::Vmsa, rcx), regs.rcx) &&
                    load(hardware_, vmsa_gpa, offsetof(fs::Vmsa, rdx), regs.rdx) &&
                    load(hardware_, vmsa_gpa, offsetof(fs::Vmsa, r8), regs.r8) &&
                    load(hardware_, vmsa_gpa, offsetof(fs::Vmsa, r9), regs.r9);
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
      } else if (!store(hardware_, vmsa_gpa, offsetof(fs::Vmsa, rax), regs.rax) ||
                 !store(hardware_, vmsa_gpa, offsetof(fs::Vmsa, rcx), regs.rcx) ||
                 !store(hardware_, vmsa_gpa, offsetof(fs::Vmsa, rdx), regs.rdx) ||
                 !store(hardware_, vmsa_gpa, offsetof(fs::Vmsa, r8), regs.r8) ||
                 !store(hardware_, vmsa_gpa, offsetof(fs::Vmsa, r9), regs.r9)) {
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
