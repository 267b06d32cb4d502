#include "cvtpm/measure/igvm_measure.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/support/digest.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/error.h"

namespace cvtpm::measure {
namespace {

namespace igvm = formats::igvm;
using formats::snp::kPageSize;
using formats::snp::Vmsa;

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

const std::array<std::uint8_t, kPageSize>& zero_page() {
  static const std::array<std::uint8_t, kPageSize> page{};
  return page;
}

// The VMSA fields QEMU copies into KVM's vCPU state (target/i386/sev.c check_vmsa_supported);
// KVM builds the measured VMSA from that state, so every other field must be zero.
Vmsa kvm_fields_cleared(const Vmsa& in) {
  Vmsa v = in;
  v.es = v.cs = v.ss = v.ds = v.fs = v.gs = {};
  v.gdtr = v.idtr = v.ldtr = v.tr = {};
  v.efer = v.cr0 = v.cr3 = v.cr4 = v.xcr0 = v.dr6 = v.dr7 = 0;
  v.rax = v.rcx = v.rdx = v.rbx = v.rsp = v.rbp = v.rsi = v.rdi = 0;
  v.r8 = v.r9 = v.r10 = v.r11 = v.r12 = v.r13 = v.r14 = v.r15 = 0;
  v.rip = v.rflags = v.g_pat = v.sev_features = 0;
  v.x87_fcw = 0;
  v.mxcsr = 0;
  return v;
}

class IgvmMeasurer {
 public:
  IgvmMeasurer(const igvm::IgvmFile& file, const IgvmMeasureOptions& options,
               const std::string& name)
      : file_(file), options_(options), name_(name) {}

  IgvmMeasurement run() {
    select_platform();
    snp_.record_into(&result_.regions);
    const std::size_t base = file_.platforms.size() + file_.initialization.size();
    for (const igvm::InitHeader& h : file_.initialization) {
      if (const auto* p = std::get_if<igvm::GuestPolicy>(&h)) {
        if (p->compatibility_mask & mask_) result_.guest_policy = p->policy;
      }
    }
    for (std::size_t k = 0; k < file_.directives.size(); ++k) {
      index_ = base + k;
      const igvm::Directive& d = file_.directives[k];
      if (const auto* p = std::get_if<igvm::PageDirective>(&d)) {
        if (p->compatibility_mask & mask_) page(*p);
      } else if (const auto* ins = std::get_if<igvm::ParameterInsert>(&d)) {
        if (ins->compatibility_mask & mask_) parameter_insert(*ins);
      } else if (const auto* a = std::get_if<igvm::ParameterAreaDirective>(&d)) {
        area_sizes_[a->parameter_area_index] = a->number_of_bytes;
      } else if (const auto* vp = std::get_if<igvm::VpContextDirective>(&d)) {
        if (vp->compatibility_mask & mask_) vp_context(*vp);
      } else if (const auto* id = std::get_if<igvm::SnpIdBlockDirective>(&d)) {
        if ((*id)->compatibility_mask & mask_) id_block(**id);
      }
    }
    result_.compatibility_mask = mask_;
    if (options_.platform == IgvmPlatform::kSevSnp) {
      result_.digest.assign(snp_.digest().begin(), snp_.digest().end());
    } else {
      const Sha256Digest d = sha256_.finish();
      result_.digest.assign(d.begin(), d.end());
    }
    check_id_block();
    return std::move(result_);
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw InputError(name_, "header " + std::to_string(index_) + " (" +
                                igvm::header_type_name(static_cast<std::uint32_t>(
                                    igvm::header_type(file_.directives[directive_index()]))) +
                                "): " + problem);
  }
  [[noreturn]] void fail_kvm(const std::string& problem) const { fail("--check-kvm: " + problem); }
  std::size_t directive_index() const {
    return index_ - file_.platforms.size() - file_.initialization.size();
  }

  void select_platform() {
    const igvm::PlatformType wanted =
        options_.platform == IgvmPlatform::kSevSnp  ? igvm::PlatformType::kSevSnp
        : options_.platform == IgvmPlatform::kSevEs ? igvm::PlatformType::kSevEs
                                                    : igvm::PlatformType::kSev;
    const igvm::SupportedPlatform* p = file_.platform(wanted);
    if (!p) {
      std::string declared;
      for (const igvm::SupportedPlatform& q : file_.platforms) {
        if (!declared.empty()) declared += ", ";
        declared += igvm::platform_type_name(q.platform_type);
      }
      throw InputError(name_, "declares no " + std::string(igvm_platform_name(options_.platform)) +
                                  " platform (it declares: " + declared + ")");
    }
    mask_ = p->compatibility_mask;
  }

  // One 4 KiB page of the measurement. `data` is the page for NORMAL pages, empty otherwise.
  void add(std::uint64_t gpa, formats::snp::PageType type, std::span<const std::uint8_t> data) {
    if (vmsa_seen_ && options_.check_kvm) {
      fail_kvm("page data after the VMSA: KVM measures the VMSA last, at launch finish");
    }
    if (options_.platform == IgvmPlatform::kSevSnp) {
      snp_.add_page(gpa, type, data);
    } else {
      // SEV and SEV-ES hash the contents of every page in load order (igvmmeasure).
      sha256_.update(data);
      result_.regions.add_page(gpa, type);
    }
  }

  void page(const igvm::PageDirective& p) {
    using formats::snp::PageType;
    const bool large = (p.flags & igvm::page_data_flags::kIs2MbPage) != 0;
    const std::uint64_t size = large ? igvm::kPageSize2M : kPageSize;
    for (std::uint64_t off = 0; off < size; off += kPageSize) {
      const std::uint64_t gpa = p.gpa + off;
      if (options_.platform != IgvmPlatform::kSevSnp) {
        add(gpa, PageType::kNormal, p.data.span());
        continue;
      }
      switch (p.data_type) {
        case igvm::PageDataType::kSecrets:
          add(gpa, PageType::kSecrets, {});
          break;
        case igvm::PageDataType::kCpuidData:
        case igvm::PageDataType::kCpuidXf:
          add(gpa, PageType::kCpuid, {});
          break;
        case igvm::PageDataType::kNormal:
          if (p.flags & igvm::page_data_flags::kUnmeasured) {
            add(gpa, PageType::kUnmeasured, {});
          } else if (!p.data.empty()) {
            add(gpa, PageType::kNormal, p.data.span());
          } else if (options_.native_zero) {
            add(gpa, PageType::kZero, {});
          } else {
            add(gpa, PageType::kNormal, zero_page());
          }
          break;
      }
    }
  }

  void parameter_insert(const igvm::ParameterInsert& ins) {
    if (vmsa_seen_ && options_.check_kvm) {
      fail_kvm("parameter insert after the VMSA: the VMSA must be the final page directive");
    }
    // QEMU inserts the whole area as unmeasured pages (igvmmeasure: only its first page).
    const std::uint64_t size = area_sizes_.at(ins.parameter_area_index);
    for (std::uint64_t off = 0; off < size; off += kPageSize) {
      if (options_.platform == IgvmPlatform::kSevSnp) {
        add(ins.gpa + off, formats::snp::PageType::kUnmeasured, {});
      }
    }
  }

  void vp_context(const igvm::VpContextDirective& vp) {
    if (options_.platform == IgvmPlatform::kSev) return;  // a native context: not measured
    Vmsa vmsa;
    std::memcpy(&vmsa, vp.data.span().data(), sizeof vmsa);
    if (options_.check_kvm && options_.platform == IgvmPlatform::kSevSnp) check_kvm_vmsa(vp, vmsa);
    if (options_.platform == IgvmPlatform::kSevSnp) {
      snp_.add_vmsa_page(vp.data.span(), vp.gpa);
    } else {
      sha256_.update(vp.data.span());
      result_.regions.add_page(vp.gpa, formats::snp::PageType::kVmsa);
    }
    vmsa_seen_ = true;
    ++result_.vmsa_count;
  }

  void check_kvm_vmsa(const igvm::VpContextDirective& vp, const Vmsa& vmsa) const {
    namespace features = formats::snp::sev_features;
    if (vmsa_seen_) {
      fail_kvm("a second VMSA: QEMU/KVM set the initial state of the boot vCPU only");
    }
    if (vp.vp_index != 0) {
      fail_kvm("the VMSA is for vp_index " + std::to_string(vp.vp_index) +
               ", not the boot vCPU (0)");
    }
    if (vp.gpa != formats::snp::kVmsaGpa) {
      fail_kvm("VMSA gpa " + hex(vp.gpa) + " is not " + hex(formats::snp::kVmsaGpa) +
               ", where KVM places and measures every VMSA");
    }
    if (vmsa.cr0 != 0x30 && vmsa.cr0 != 0x31) {
      fail_kvm("VMSA cr0 " + hex(vmsa.cr0) +
               " is not 0x31 or 0x30, the value KVM measures (ET|NE, with or without PE)");
    }
    if (!(vmsa.cr4 & 0x40)) {
      fail_kvm("VMSA cr4 " + hex(vmsa.cr4) + " lacks MCE (0x40), which KVM sets from the host");
    }
    if (!(vmsa.efer & 0x1000)) {
      fail_kvm("VMSA efer " + hex(vmsa.efer) + " lacks SVME (0x1000), which KVM always sets");
    }
    if (!(vmsa.rflags & 0x2)) {
      fail_kvm("VMSA rflags " + hex(vmsa.rflags) + " lacks the reserved bit 1, which KVM sets");
    }
    if (!(vmsa.xcr0 & 0x1)) {
      fail_kvm("VMSA xcr0 " + hex(vmsa.xcr0) + " lacks x87 (bit 0), which KVM requires");
    }
    if (!(vmsa.sev_features & features::kSnpActive)) {
      fail_kvm("VMSA sev_features " + hex(vmsa.sev_features) + " lacks SNP (bit 0)");
    }
    const Vmsa rest = kvm_fields_cleared(vmsa);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(&rest);
    for (std::size_t off = 0; off < sizeof rest; ++off) {
      if (bytes[off] != 0) {
        fail_kvm("VMSA byte " + hex(off) +
                 " is not zero: QEMU passes only segment, control, debug and general "
                 "registers, rip, rflags, g_pat, xcr0, mxcsr, x87_fcw and sev_features to KVM");
      }
    }
  }

  void id_block(const igvm::SnpIdBlock& id) {
    if (result_.id_block_digest) {
      fail("a second SNP ID block for the platform (QEMU accepts one)");
    }
    std::array<std::uint8_t, 48> ld{};
    std::memcpy(ld.data(), id.ld, ld.size());
    result_.id_block_digest = ld;
  }

  void check_id_block() const {
    if (!result_.id_block_digest || options_.ignore_id_block ||
        options_.platform != IgvmPlatform::kSevSnp) {
      return;
    }
    if (!std::equal(result_.digest.begin(), result_.digest.end(),
                    result_.id_block_digest->begin())) {
      throw InputError(name_, "its SNP ID block vouches for launch digest " +
                                  to_hex(*result_.id_block_digest) + ", not the computed " +
                                  to_hex(result_.digest) + " (--ignore-idblock measures anyway)");
    }
  }

  const igvm::IgvmFile& file_;
  const IgvmMeasureOptions& options_;
  const std::string& name_;
  std::uint32_t mask_ = 0;
  std::size_t index_ = 0;
  bool vmsa_seen_ = false;
  std::map<std::uint32_t, std::uint64_t> area_sizes_;
  SnpLaunchDigest snp_;
  Sha256 sha256_;
  IgvmMeasurement result_;
};

}  // namespace

std::optional<IgvmPlatform> parse_igvm_platform(std::string_view name) {
  if (name == "sev-snp" || name == "snp") return IgvmPlatform::kSevSnp;
  if (name == "sev-es") return IgvmPlatform::kSevEs;
  if (name == "sev") return IgvmPlatform::kSev;
  return std::nullopt;
}

std::string_view igvm_platform_name(IgvmPlatform platform) {
  switch (platform) {
    case IgvmPlatform::kSevSnp:
      return "sev-snp";
    case IgvmPlatform::kSevEs:
      return "sev-es";
    case IgvmPlatform::kSev:
      return "sev";
  }
  return "unknown";
}

IgvmMeasurement measure_igvm(const formats::igvm::IgvmFile& file, const IgvmMeasureOptions& options,
                             const std::string& name) {
  return IgvmMeasurer(file, options, name).run();
}

}  // namespace cvtpm::measure
