// The dump is built once as JSON (the structured form) and rendered as text from the same
// values, so both always say the same thing.
#include "cvtpm/igvmgen/dump.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>

#include "cvtpm/formats/endian.h"
#include "cvtpm/formats/snp/id_block.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/support/digest.h"
#include "cvtpm/support/encoding.h"
#include "sev_features.h"

namespace cvtpm::igvmgen {
namespace {

namespace igvm = formats::igvm;
using formats::snp::VmcbSegment;
using formats::snp::Vmsa;
using nlohmann::ordered_json;

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string bytes_hex(const std::uint8_t* p, std::size_t n) {
  return to_hex(std::span<const std::uint8_t>(p, n));
}

std::string mask_platforms(const igvm::IgvmFile& f, std::uint32_t mask) {
  std::string out;
  for (const igvm::SupportedPlatform& p : f.platforms) {
    if (p.compatibility_mask & mask) {
      if (!out.empty()) out += '|';
      out += igvm::platform_type_name(p.platform_type);
    }
  }
  return out;
}

std::string policy_bits(std::uint64_t policy) {
  namespace gp = formats::snp::guest_policy;
  std::string out = "abi " + std::to_string((policy & gp::kAbiMajorMask) >> 8) + "." +
                    std::to_string(policy & gp::kAbiMinorMask);
  if (policy & gp::kSmt) out += ", smt";
  if (policy & gp::kReservedMustBeOne) out += ", reserved-1";
  if (policy & gp::kMigrateMa) out += ", migrate-ma";
  if (policy & gp::kDebug) out += ", debug";
  if (policy & gp::kSingleSocket) out += ", single-socket";
  const std::uint64_t rest = policy & ~0x1FFFFFULL;
  if (rest) out += ", other " + hex(rest);
  return out;
}

ordered_json segment(const VmcbSegment& s) {
  return {{"selector", hex(s.selector)},
          {"attrib", hex(s.attrib)},
          {"limit", hex(s.limit)},
          {"base", hex(s.base)}};
}

// Every named VMSA field that is not zero, then the offsets of any other non-zero bytes.
ordered_json vmsa_fields(std::span<const std::uint8_t> page) {
  Vmsa v;
  std::memcpy(&v, page.data(), sizeof v);
  ordered_json j = ordered_json::object();
  const std::pair<const char*, const VmcbSegment*> segments[] = {
      {"es", &v.es}, {"cs", &v.cs},     {"ss", &v.ss},     {"ds", &v.ds},     {"fs", &v.fs},
      {"gs", &v.gs}, {"gdtr", &v.gdtr}, {"ldtr", &v.ldtr}, {"idtr", &v.idtr}, {"tr", &v.tr}};
  const VmcbSegment zero{};
  for (const auto& [name, s] : segments) {
    if (std::memcmp(s, &zero, sizeof zero) != 0) j[name] = segment(*s);
  }
  const std::pair<const char*, std::uint64_t> regs[] = {{"vmpl", v.vmpl},
                                                        {"cpl", v.cpl},
                                                        {"efer", v.efer},
                                                        {"cr0", v.cr0},
                                                        {"cr2", v.cr2},
                                                        {"cr3", v.cr3},
                                                        {"cr4", v.cr4},
                                                        {"xss", v.xss},
                                                        {"dr6", v.dr6},
                                                        {"dr7", v.dr7},
                                                        {"rflags", v.rflags},
                                                        {"rip", v.rip},
                                                        {"rsp", v.rsp},
                                                        {"rax", v.rax},
                                                        {"rcx", v.rcx},
                                                        {"rdx", v.rdx},
                                                        {"rbx", v.rbx},
                                                        {"rbp", v.rbp},
                                                        {"rsi", v.rsi},
                                                        {"rdi", v.rdi},
                                                        {"r8", v.r8},
                                                        {"r9", v.r9},
                                                        {"r10", v.r10},
                                                        {"r11", v.r11},
                                                        {"r12", v.r12},
                                                        {"r13", v.r13},
                                                        {"r14", v.r14},
                                                        {"r15", v.r15},
                                                        {"g_pat", v.g_pat},
                                                        {"xcr0", v.xcr0},
                                                        {"mxcsr", v.mxcsr},
                                                        {"x87_ftw", v.x87_ftw},
                                                        {"x87_fcw", v.x87_fcw},
                                                        {"virtual_tom", v.virtual_tom},
                                                        {"vintr_ctrl", v.vintr_ctrl}};
  for (const auto& [name, value] : regs) {
    if (value != 0) j[name] = hex(value);
  }
  if (v.sev_features) {
    j["sev_features"] = hex(v.sev_features);
    j["sev_features_names"] = sev_feature_names(v.sev_features);
  }
  // Whatever the lists above do not name.
  Vmsa rest = v;
  rest.es = rest.cs = rest.ss = rest.ds = rest.fs = rest.gs = {};
  rest.gdtr = rest.ldtr = rest.idtr = rest.tr = {};
  rest.vmpl = rest.cpl = 0;
  rest.efer = rest.cr0 = rest.cr2 = rest.cr3 = rest.cr4 = rest.xss = 0;
  rest.dr6 = rest.dr7 = rest.rflags = rest.rip = rest.rsp = 0;
  rest.rax = rest.rcx = rest.rdx = rest.rbx = rest.rbp = rest.rsi = rest.rdi = 0;
  rest.r8 = rest.r9 = rest.r10 = rest.r11 = rest.r12 = rest.r13 = rest.r14 = rest.r15 = 0;
  rest.g_pat = rest.xcr0 = rest.virtual_tom = rest.vintr_ctrl = rest.sev_features = 0;
  rest.mxcsr = 0;
  rest.x87_ftw = rest.x87_fcw = 0;
  ordered_json other = ordered_json::array();
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(&rest);
  for (std::size_t off = 0; off < sizeof rest; ++off) {
    if (bytes[off] != 0) other.push_back(hex(off));
  }
  if (!other.empty()) j["other_nonzero_bytes"] = other;
  return j;
}

ordered_json native_context_fields(std::span<const std::uint8_t> page) {
  igvm::NativeVpContextX64 c;
  std::memcpy(&c, page.data(), sizeof c);
  ordered_json j = ordered_json::object();
  const std::pair<const char*, std::uint64_t> regs[] = {{"rax", c.rax},
                                                        {"rcx", c.rcx},
                                                        {"rdx", c.rdx},
                                                        {"rbx", c.rbx},
                                                        {"rsp", c.rsp},
                                                        {"rbp", c.rbp},
                                                        {"rsi", c.rsi},
                                                        {"rdi", c.rdi},
                                                        {"r8", c.r8},
                                                        {"r9", c.r9},
                                                        {"r10", c.r10},
                                                        {"r11", c.r11},
                                                        {"r12", c.r12},
                                                        {"r13", c.r13},
                                                        {"r14", c.r14},
                                                        {"r15", c.r15},
                                                        {"rip", c.rip},
                                                        {"rflags", c.rflags},
                                                        {"idtr_base", c.idtr_base},
                                                        {"idtr_limit", c.idtr_limit},
                                                        {"gdtr_base", c.gdtr_base},
                                                        {"gdtr_limit", c.gdtr_limit},
                                                        {"gs_base", c.gs_base},
                                                        {"cr0", c.cr0},
                                                        {"cr3", c.cr3},
                                                        {"cr4", c.cr4},
                                                        {"efer", c.efer}};
  for (const auto& [name, value] : regs) {
    if (value != 0) j[name] = hex(value);
  }
  j["code"] = {{"selector", hex(c.code_selector)},
               {"attributes", hex(c.code_attributes)},
               {"base", hex(c.code_base)},
               {"limit", hex(c.code_limit)}};
  j["data"] = {{"selector", hex(c.data_selector)},
               {"attributes", hex(c.data_attributes)},
               {"base", hex(c.data_base)},
               {"limit", hex(c.data_limit)}};
  return j;
}

ordered_json id_block(const igvm::SnpIdBlock& b) {
  auto key_digest = [](const igvm::SnpIdBlockPublicKey& k) -> ordered_json {
    if (k.curve == 0) return nullptr;
    // The report's key digests cover the SNP ABI form of the key.
    formats::snp::EcdsaPublicKey abi{};
    abi.curve = k.curve;
    std::memcpy(abi.qx, k.qx, sizeof abi.qx);
    std::memcpy(abi.qy, k.qy, sizeof abi.qy);
    return to_hex(sha384(std::span(reinterpret_cast<const std::uint8_t*>(&abi), sizeof abi)));
  };
  return {{"author_key_enabled", b.author_key_enabled != 0},
          {"launch_digest", bytes_hex(b.ld, sizeof b.ld)},
          {"family_id", bytes_hex(b.family_id, sizeof b.family_id)},
          {"image_id", bytes_hex(b.image_id, sizeof b.image_id)},
          {"version", b.version},
          {"guest_svn", b.guest_svn},
          {"id_key_algorithm", b.id_key_algorithm},
          {"author_key_algorithm", b.author_key_algorithm},
          {"id_key_digest", key_digest(b.id_public_key)},
          {"author_key_digest", key_digest(b.author_public_key)}};
}

const char* page_flag_names(std::uint32_t flags, std::string& buf) {
  buf.clear();
  if (flags & igvm::page_data_flags::kIs2MbPage) buf += "2mb,";
  if (flags & igvm::page_data_flags::kUnmeasured) buf += "unmeasured,";
  if (flags & igvm::page_data_flags::kShared) buf += "shared,";
  if (!buf.empty()) buf.pop_back();
  return buf.c_str();
}

class Dumper {
 public:
  explicit Dumper(const DumpInput& in) : in_(in), f_(*in.file) {}

  ordered_json json() const {
    ordered_json j;
    j["file"] = in_.name;
    j["size"] = in_.file_size;
    j["sha256"] = in_.sha256;
    j["format_version"] = f_.format_version;
    j["architecture"] = f_.architecture == igvm::Architecture::kX64 ? "x64" : "aarch64";
    ordered_json platforms = ordered_json::array();
    for (std::size_t i = 0; i < f_.platforms.size(); ++i) {
      const igvm::SupportedPlatform& p = f_.platforms[i];
      platforms.push_back({{"index", i},
                           {"type", "SUPPORTED_PLATFORM"},
                           {"platform", igvm::platform_type_name(p.platform_type)},
                           {"compatibility_mask", hex(p.compatibility_mask)},
                           {"highest_vtl", p.highest_vtl},
                           {"platform_version", p.platform_version},
                           {"shared_gpa_boundary", hex(p.shared_gpa_boundary)}});
    }
    j["platforms"] = platforms;
    j["initialization"] = initialization();
    j["directives"] = directives();
    return j;
  }

 private:
  ordered_json with_mask(std::size_t index, std::uint32_t type, std::uint32_t mask) const {
    return {{"index", index},
            {"type", igvm::header_type_name(type)},
            {"compatibility_mask", hex(mask)},
            {"platforms", mask_platforms(f_, mask)}};
  }

  ordered_json initialization() const {
    ordered_json out = ordered_json::array();
    std::size_t index = f_.platforms.size();
    for (const igvm::InitHeader& h : f_.initialization) {
      const auto type = static_cast<std::uint32_t>(igvm::header_type(h));
      ordered_json j;
      if (const auto* p = std::get_if<igvm::GuestPolicy>(&h)) {
        j = with_mask(index, type, p->compatibility_mask);
        j["policy"] = hex(p->policy);
        j["policy_bits"] = policy_bits(p->policy);
      } else if (const auto* r = std::get_if<igvm::RelocatableRegion>(&h)) {
        j = with_mask(index, type, r->compatibility_mask);
        j["vp_index"] = r->vp_index;
        j["vtl"] = r->vtl;
        j["flags"] = hex(r->flags);
        j["gpa"] = hex(r->relocation_region_gpa);
        j["size"] = hex(r->relocation_region_size);
        j["alignment"] = hex(r->relocation_alignment);
        j["minimum_gpa"] = hex(r->minimum_relocation_gpa);
        j["maximum_gpa"] = hex(r->maximum_relocation_gpa);
      } else if (const auto* pt = std::get_if<igvm::PageTableRelocation>(&h)) {
        j = with_mask(index, type, pt->compatibility_mask);
        j["vp_index"] = pt->vp_index;
        j["vtl"] = pt->vtl;
        j["gpa"] = hex(pt->gpa);
        j["size"] = hex(pt->size);
        j["used_size"] = hex(pt->used_size);
      } else if (const auto* d = std::get_if<igvm::CorimDocument>(&h)) {
        j = with_mask(index, type, d->compatibility_mask);
        j["size"] = d->data.size();
        j["sha256"] = to_hex(sha256(d->data.span()));
      } else if (const auto* s = std::get_if<igvm::CorimSignature>(&h)) {
        j = with_mask(index, type, s->compatibility_mask);
        j["size"] = s->data.size();
        j["sha256"] = to_hex(sha256(s->data.span()));
      } else if (const auto* c = std::get_if<igvm::CcaPolicy>(&h)) {
        j = {{"index", index}, {"type", igvm::header_type_name(type)}};
        j["bytes"] = to_hex(c->bytes);
      }
      out.push_back(j);
      ++index;
    }
    return out;
  }

  const igvm::SupportedPlatform* platform_of_mask(std::uint32_t mask) const {
    for (const igvm::SupportedPlatform& p : f_.platforms) {
      if (p.compatibility_mask == mask) return &p;
    }
    return nullptr;
  }

  ordered_json directives() const {
    ordered_json out = ordered_json::array();
    const std::size_t base = f_.platforms.size() + f_.initialization.size();
    const auto& ds = f_.directives;
    for (std::size_t k = 0; k < ds.size(); ++k) {
      const std::size_t index = base + k;
      const auto type = static_cast<std::uint32_t>(igvm::header_type(ds[k]));
      if (const auto* p = std::get_if<igvm::PageDirective>(&ds[k])) {
        // A run: consecutive directives alike in everything but a contiguous GPA.
        std::size_t end = k + 1;
        std::uint64_t next_gpa = p->gpa + page_size(*p);
        while (end < ds.size()) {
          const auto* q = std::get_if<igvm::PageDirective>(&ds[end]);
          if (!q || q->gpa != next_gpa || q->compatibility_mask != p->compatibility_mask ||
              q->flags != p->flags || q->data_type != p->data_type ||
              q->data.empty() != p->data.empty()) {
            break;
          }
          next_gpa += page_size(*q);
          ++end;
        }
        ordered_json j = with_mask(index, type, p->compatibility_mask);
        j["last_index"] = base + end - 1;
        j["gpa"] = hex(p->gpa);
        j["end"] = hex(next_gpa);
        j["pages"] = end - k;
        j["data_type"] = igvm::page_data_type_name(p->data_type);
        std::string flags;
        j["flags"] = page_flag_names(p->flags, flags);
        j["data"] = p->data.empty() ? "zero" : "file";
        out.push_back(j);
        k = end - 1;
        continue;
      }
      ordered_json j;
      if (const auto* a = std::get_if<igvm::ParameterAreaDirective>(&ds[k])) {
        j = {{"index", index}, {"type", igvm::header_type_name(type)}};
        j["area"] = a->parameter_area_index;
        j["size"] = hex(a->number_of_bytes);
        j["initial_data"] = a->initial_data.empty() ? "zero" : "file";
      } else if (const auto* ins = std::get_if<igvm::ParameterInsert>(&ds[k])) {
        j = with_mask(index, type, ins->compatibility_mask);
        j["gpa"] = hex(ins->gpa);
        j["area"] = ins->parameter_area_index;
      } else if (const auto* u = std::get_if<igvm::ParameterUsage>(&ds[k])) {
        j = {{"index", index}, {"type", igvm::header_type_name(type)}};
        j["area"] = u->parameter.parameter_area_index;
        j["byte_offset"] = hex(u->parameter.byte_offset);
      } else if (const auto* vp = std::get_if<igvm::VpContextDirective>(&ds[k])) {
        j = with_mask(index, type, vp->compatibility_mask);
        j["vp_index"] = vp->vp_index;
        j["gpa"] = hex(vp->gpa);
        const igvm::SupportedPlatform* pl = platform_of_mask(vp->compatibility_mask);
        const auto pt =
            pl ? static_cast<igvm::PlatformType>(pl->platform_type) : igvm::PlatformType::kNative;
        if (pt == igvm::PlatformType::kSevSnp || pt == igvm::PlatformType::kSevEs) {
          j["format"] = "vmsa";
          j["sha384"] = to_hex(sha384(vp->data.span()));
          j["registers"] = vmsa_fields(vp->data.span());
        } else if (pt == igvm::PlatformType::kVsmIsolation) {
          j["format"] = "vbs";
          j["register_count"] = formats::load_le<std::uint32_t>(vp->data.span().data());
        } else {
          j["format"] = "native";
          j["registers"] = native_context_fields(vp->data.span());
        }
      } else if (const auto* m = std::get_if<igvm::RequiredMemory>(&ds[k])) {
        j = with_mask(index, type, m->compatibility_mask);
        j["gpa"] = hex(m->gpa);
        j["size"] = hex(m->number_of_bytes);
        j["vtl2_protectable"] = (m->flags & igvm::required_memory_flags::kVtl2Protectable) != 0;
      } else if (const auto* e = std::get_if<igvm::ErrorRange>(&ds[k])) {
        j = with_mask(index, type, e->compatibility_mask);
        j["gpa"] = hex(e->gpa);
        j["size"] = hex(e->size_bytes);
      } else if (const auto* boxed_id = std::get_if<igvm::SnpIdBlockDirective>(&ds[k])) {
        const igvm::SnpIdBlock& id = **boxed_id;
        j = with_mask(index, type, id.compatibility_mask);
        j["id_block"] = id_block(id);
      } else if (const auto* boxed_vbs = std::get_if<igvm::VbsMeasurementDirective>(&ds[k])) {
        const igvm::VbsMeasurement& vbs = **boxed_vbs;
        j = with_mask(index, type, vbs.compatibility_mask);
        j["version"] = vbs.version;
        j["product_id"] = vbs.product_id;
        j["module_id"] = vbs.module_id;
        j["security_version"] = vbs.security_version;
        j["policy_flags"] = hex(vbs.policy_flags);
        j["boot_measurement_digest"] =
            bytes_hex(vbs.boot_measurement_digest, sizeof vbs.boot_measurement_digest);
      }
      out.push_back(j);
    }
    return out;
  }

  static std::uint64_t page_size(const igvm::PageDirective& p) {
    return (p.flags & igvm::page_data_flags::kIs2MbPage) ? igvm::kPageSize2M : igvm::kPageSize;
  }

  const DumpInput& in_;
  const igvm::IgvmFile& f_;
};

// One line per header (or run), fields as "key value"; nested objects indented below.
void render(std::string& out, const ordered_json& j, const std::string& indent) {
  for (const auto& [key, value] : j.items()) {
    if (value.is_object()) {
      out += indent + key + ":\n";
      render(out, value, indent + "  ");
    } else {
      out +=
          indent + key + " " + (value.is_string() ? value.get<std::string>() : value.dump()) + "\n";
    }
  }
}

std::string header_line(const ordered_json& h) {
  std::string index = std::to_string(h["index"].get<std::size_t>());
  if (h.contains("last_index") && h["last_index"] != h["index"]) {
    index += ".." + std::to_string(h["last_index"].get<std::size_t>());
  }
  std::string line = "  [" + index + "] " + h["type"].get<std::string>();
  ordered_json nested = ordered_json::object();
  for (const auto& [key, value] : h.items()) {
    if (key == "index" || key == "last_index" || key == "type") continue;
    if (value.is_object()) {
      nested[key] = value;
      continue;
    }
    if (value.is_string() && value.get<std::string>().empty()) continue;
    line += " " + key + " " + (value.is_string() ? value.get<std::string>() : value.dump());
  }
  line += "\n";
  if (!nested.empty()) render(line, nested, "      ");
  return line;
}

}  // namespace

std::string dump_json(const DumpInput& input) {
  return Dumper(input).json().dump(2) + "\n";
}

std::string dump_text(const DumpInput& input) {
  const ordered_json j = Dumper(input).json();
  std::string out = "IGVM file " + input.name + ": " + std::to_string(input.file_size) +
                    " bytes, sha256 " + input.sha256 + "\n";
  out += "format version " + std::to_string(j["format_version"].get<std::uint32_t>()) +
         ", architecture " + j["architecture"].get<std::string>() + "\n";
  for (const char* section : {"platforms", "initialization", "directives"}) {
    out += std::string(section) + ":\n";
    for (const ordered_json& h : j[section]) out += header_line(h);
  }
  return out;
}

}  // namespace cvtpm::igvmgen
