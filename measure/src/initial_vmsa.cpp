#include "cvtpm/measure/initial_vmsa.h"

namespace cvtpm::measure {
namespace {

using formats::snp::VmcbSegment;

namespace reset = formats::snp::reset_state;
constexpr std::uint64_t kResetCr0 = 0x10;  // ET

// Registers in which the VMMs differ.
struct VmmFlavor {
  std::uint16_t bsp_cs_attrib;
  std::uint16_t ss_attrib;
  std::uint16_t tr_attrib;
  std::uint64_t g_pat;
  bool rdx_is_signature;  // otherwise RDX = kFixedRdx
  bool sets_fpu_state;
};
constexpr std::uint64_t kFixedRdx = 0x600;

VmmFlavor flavor(VmmType vmm) {
  switch (vmm) {
    case VmmType::kQemu:
      return {0x9B, 0x93, 0x8B, reset::kPat, true, true};
    case VmmType::kEc2:
      return {0x9A, 0x92, 0x83, reset::kPat, false, false};
    case VmmType::kGce:
      return {0x9B, 0x93, 0x8B, 0x00070106, false, false};
  }
  return {};
}

}  // namespace

std::optional<VmmType> parse_vmm_type(std::string_view name) {
  if (name == "QEMU") return VmmType::kQemu;
  if (name == "ec2") return VmmType::kEc2;
  if (name == "gce") return VmmType::kGce;
  return std::nullopt;
}

std::string_view vmm_type_name(VmmType type) {
  switch (type) {
    case VmmType::kQemu:
      return "QEMU";
    case VmmType::kEc2:
      return "ec2";
    case VmmType::kGce:
      return "gce";
  }
  return "?";
}

namespace {

// State both kinds of initial VMSA share: real-mode style descriptor tables and task register,
// and the architectural reset values of the control and debug registers.
Vmsa common_initial_state(std::uint16_t tr_attrib) {
  Vmsa v{};
  v.gdtr = VmcbSegment{0, 0, 0xFFFF, 0};
  v.idtr = VmcbSegment{0, 0, 0xFFFF, 0};
  v.ldtr = VmcbSegment{0, 0x82, 0xFFFF, 0};
  v.tr = VmcbSegment{0, tr_attrib, 0xFFFF, 0};
  v.efer = formats::snp::kEferSvme;
  v.cr4 = reset::kCr4;
  v.dr7 = reset::kDr7;
  v.dr6 = reset::kDr6;
  v.rflags = reset::kRflags;
  v.xcr0 = reset::kXcr0;
  return v;
}

}  // namespace

Vmsa reset_vmsa(const ResetVmsaParams& p) {
  const VmmFlavor f = flavor(p.vmm);
  const bool bsp = p.eip == kBspResetEip;
  Vmsa v = common_initial_state(f.tr_attrib);
  const VmcbSegment data{0, 0x93, 0xFFFF, 0};
  v.es = v.ds = v.fs = v.gs = data;
  v.ss = VmcbSegment{0, f.ss_attrib, 0xFFFF, 0};
  v.cs =
      VmcbSegment{0xF000, bsp ? f.bsp_cs_attrib : std::uint16_t{0x9B}, 0xFFFF, p.eip & 0xFFFF0000u};
  v.cr0 = kResetCr0;
  v.rip = p.eip & 0xFFFF;
  v.g_pat = f.g_pat;
  v.rdx = f.rdx_is_signature ? p.vcpu_signature : kFixedRdx;
  v.sev_features = p.sev_features;
  if (f.sets_fpu_state && !p.legacy_fpu_state) {
    v.mxcsr = reset::kMxcsr;
    v.x87_fcw = reset::kX87Fcw;
  }
  return v;
}

Vmsa legacy_svsm_vmsa(std::uint64_t rip, std::uint32_t vcpu_signature) {
  Vmsa v = common_initial_state(0x8B);
  const VmcbSegment flat_data{0x10, 0xC93, 0xFFFFFFFF, 0};
  v.es = v.ss = v.ds = v.fs = flat_data;
  v.cs = VmcbSegment{0x08, 0xC9B, 0xFFFFFFFF, 0};
  v.gs = VmcbSegment{0, 0x93, 0xFFFF, 0};
  v.cr0 = 0x11;  // PE | ET: the SVSM starts in protected mode
  v.rip = rip;
  v.g_pat = reset::kPat;
  v.rdx = vcpu_signature;
  v.sev_features = formats::snp::sev_features::kSnpActive;
  // sev-snp-measure sets MXCSR but leaves the x87 control word at zero in this mode, and its
  // published digests depend on that.
  v.mxcsr = reset::kMxcsr;
  return v;
}

}  // namespace cvtpm::measure
