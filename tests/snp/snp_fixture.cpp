#include "snp_fixture.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cvtpm/formats/elf/elf_image.h"
#include "cvtpm/formats/ovmf/ovmf_image.h"
#include "cvtpm/formats/snp/rmp_instructions.h"
#include "cvtpm/formats/snp/secrets_page.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/measure/igvm_id_block.h"
#include "cvtpm/measure/igvm_measure.h"
#include "cvtpm/measure/snp_keys.h"
#include "cvtpm/snp/boot.h"
#include "cvtpm/support/files.h"
#include "model/model_table_memory.h"
#include "platform/native/boot_info.h"
#include "synthetic_ovmf.h"
#include "vtpm_testing.h"

namespace cvtpm::snp::testing {

namespace fs = formats::snp;
namespace boot = formats::boot;

void CaptureLog::vwrite(LogLevel, const char* format, std::va_list args) {
  char line[512];
  std::vsnprintf(line, sizeof line, format, args);
  lines.emplace_back(line);
}

bool CaptureLog::contains(const std::string& text) const {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(text) != std::string::npos; });
}

std::uint64_t BumpPages::allocate_page() {
  if (next_ >= end_) return 0;
  const std::uint64_t page = next_;
  next_ += 4096;
  return page;
}

namespace {

// Test ID keys (EC P-384), made once per process and index.
const measure::EcP384PrivateKey& test_id_key(unsigned index) {
  static std::map<unsigned, std::unique_ptr<measure::EcP384PrivateKey>> keys;
  auto& key = keys[index];
  if (!key) {
    EVP_PKEY* pkey = EVP_EC_gen("P-384");
    BIO* bio = BIO_new(BIO_s_mem());
    if (pkey == nullptr || bio == nullptr ||
        PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
      throw std::runtime_error("test ID key: OpenSSL failed");
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    const std::vector<std::uint8_t> pem(data, data + size);
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    key = std::make_unique<measure::EcP384PrivateKey>(
        measure::EcP384PrivateKey::from_pem(pem, "test ID key"));
  }
  return *key;
}

}  // namespace

bool real_firmware_available() {
  return std::filesystem::exists(std::string(CVTPM_BIN_DIR) + "/cvtpm-fw.elf");
}

BuiltTestImage build_test_image(const ImageOptions& options) {
  const std::string elf_path =
      options.real_firmware ? std::string(CVTPM_BIN_DIR) + "/cvtpm-fw.elf" : CVTPM_TEST_FIRMWARE;
  if (!std::filesystem::exists(elf_path)) {
    throw std::runtime_error("firmware ELF not built: " + elf_path);
  }
  const formats::elf::ElfImage elf = formats::elf::ElfImage::parse(load_file(elf_path), elf_path);
  cvtpm::testing::SyntheticOvmf synthetic;
  synthetic.pages = options.ovmf_pages;
  synthetic.igvm_metadata = options.ovmf_igvm_metadata;
  const std::vector<std::uint8_t> ovmf_bytes = synthetic.build();
  const formats::ovmf::OvmfImage ovmf =
      formats::ovmf::OvmfImage::parse(ByteBuffer(ovmf_bytes), "synthetic OVMF");
  igvmgen::BuildOptions build;
  build.snp = true;
  build.native = false;
  build.guest_vmpl = options.guest_vmpl;
  build.ek_algorithm = options.ek;
  build.guest_sev_features = options.guest_sev_features;
  build.sev_features = options.sev_features;
  build.allow_non_svsm_ovmf = !options.ovmf_igvm_metadata;
  build.state_binding = options.state_binding;
  build.state_min_svn = options.state_min_svn;
  BuiltTestImage out{igvmgen::build_image(elf, ovmf, build), {}, ovmf_bytes.size()};
  const measure::IgvmMeasurement m = measure::measure_igvm(out.image.file, {}, "test image");
  out.measurement = m.digest;
  if (options.id_block) {
    measure::IgvmIdBlockRequest request;
    request.family_id = options.id_block->family_id;
    request.image_id = options.id_block->image_id;
    request.guest_svn = options.id_block->guest_svn;
    measure::SignedIgvm signed_image = measure::sign_igvm(
        out.image.file, {}, request, test_id_key(options.id_block->id_key), nullptr, "test image");
    out.image.file = std::move(signed_image.file);
  }
  return out;
}

model::MachineConfig default_machine_config(std::size_t ovmf_size) {
  model::MachineConfig config;
  constexpr std::uint64_t k4G = std::uint64_t{1} << 32;
  config.memory_map = {{0, 0x4000'0000}};
  config.ram = {{0, 0x4000'0000}, {k4G - ovmf_size, k4G}};
  return config;
}

SnpBoot::SnpBoot(const ImageOptions& options, std::optional<model::MachineConfig> config)
    : image_(build_test_image(options)) {
  machine_ = std::make_unique<Machine>(config ? *config : default_machine_config(image_.ovmf_size));
  launch_ = machine_->launch(image_.image.file,
                             std::span<const std::uint8_t, 48>(image_.measurement.data(), 48));
  hardware_ = std::make_unique<ModelHardware>(*machine_, 0, 0);
  hardware_->set_address_space(&address_space_);
  firmware_ = std::make_unique<SnpFirmware>(*hardware_, log_);
  // The firmware's GHCB is a page of its .bss; here, the first page of the launched image.
  ghcb_gpa_ = image_.image.layout.image_begin;
  hardware_->exception_entry = [this](const Machine::Injection& event) { take_exception(event); };
}

void SnpBoot::take_exception(const Machine::Injection& event) {
  GhcbClient* ghcb = firmware_->ghcb().bound() ? &firmware_->ghcb() : nullptr;
  if (event.vector == 28) {
    exceptions_.on_hv(*hardware_);
    return;
  }
  if (event.vector != 29) {
    machine_->record_fault("injected vector " + std::to_string(event.vector) +
                           ": the firmware's handler panics");
    return;
  }
  VcRegisters regs{event.rax, 0, event.rcx, event.rdx, 0x1000};
  const VcResult result = exceptions_.on_vc(*hardware_, VcException{event.error_code, event.code},
                                            regs, firmware_->cpuid(), hardware_->read_cr4(), ghcb);
  vc_results_.push_back(result);
}

SnpBoot::~SnpBoot() {
  firmware_.reset();
  if (::testing::Test::HasFailure()) {
    for (const std::string& line : log_.lines)
      std::fprintf(stderr, "  firmware log: %s\n", line.c_str());
    for (const std::string& f : machine_->faults())
      std::fprintf(stderr, "  model fault: %s\n", f.c_str());
  }
}

SnpStatus SnpBoot::early(const NegotiateOptions& options) {
  return firmware_->early(launch_.boot_params_gpa, ghcb_gpa_, options);
}

SnpStatus SnpBoot::accept() {
  return firmware_->accept_firmware_memory();
}

namespace {

// The model's memory as the runtime's boot-info parser reads it (launch-validated pages).
class ModelPhysicalMemory final : public fw::native::PhysicalMemory {
 public:
  explicit ModelPhysicalMemory(Machine& machine) : machine_(machine) {}
  bool read(std::uint64_t gpa, void* out, std::size_t length) const override {
    auto* bytes = static_cast<std::uint8_t*>(out);
    for (std::size_t i = 0; i < length; ++i) {
      if (!machine_.is_ram(gpa + i)) return false;
      bytes[i] = *machine_.raw(gpa + i);
    }
    return true;
  }

 private:
  Machine& machine_;
};

}  // namespace

SnpStatus SnpBoot::activate_paging() {
  if (page_table_root_ != 0) return SnpStatus::success();
  // The firmware reads the loader's memory map with the runtime's boot-info reader.
  ModelPhysicalMemory memory(*machine_);
  auto info = std::make_unique<fw::native::BootInfo>();
  fw::native::BootError error;
  if (launch_.entry_eax !=
      (boot::kEntryMagic | static_cast<std::uint32_t>(boot::EntryPlatform::kSnp))) {
    return SnpError{"the image's SNP VMSA does not enter with kSnp", launch_.entry_eax};
  }
  if (!fw::native::read_snp_boot_info(launch_.boot_params_gpa, memory, *info, error)) {
    return SnpError{"boot info"};
  }
  ram_.clear();
  std::uint64_t top = 0;
  for (std::size_t i = 0; i < info->ram_count; ++i) {
    ram_.push_back({info->ram[i].start, info->ram[i].end});
    top = std::max(top, info->ram[i].end);
  }
  const boot::BootParams& p = firmware_->params();
  // The page pool starts at the end of the launched image, as in the firmware.
  pages_ =
      std::make_unique<BumpPages>(p.image.gpa + p.image.size, p.firmware.gpa + p.firmware.size);
  // The plan main.cpp's init_memory makes under SNP. The test image's sections are not known
  // here: all of it is data (the W^X split is the native boot tests' subject).
  fw::mm::ImageLayout image{};
  image.start = p.image.gpa;
  image.text_end = image.rodata_end = p.image.gpa;
  image.stacks_start = image.stacks_end = image.end = p.image.gpa + p.image.size;
  fw::x86::PagingPlan plan{image, p.firmware.gpa, p.firmware.gpa + p.firmware.size,
                           fw::x86::identity_limit_for(top), true};
  plan.encryption_mask = std::uint64_t{1} << machine_->config().cbit;
  plan.shared_pages = &ghcb_gpa_;
  plan.shared_page_count = 1;
  plan.guest_window = kGuestWindowBase;
  model::ModelTableMemory tables(*machine_, [this] { return pages_->allocate_page(); });
  const fw::x86::PagingResult result = fw::x86::build_page_tables(plan, tables);
  if (result.root == 0) return SnpError{"page tables: out of firmware pages"};
  page_table_root_ = result.root;
  machine_->vcpu(0).cr3 = result.root;
  address_space_ = {p.firmware.gpa, p.firmware.gpa + p.firmware.size, kGuestWindowBase};
  return SnpStatus::success();
}

SnpStatus SnpBoot::prepare() {
  if (SnpStatus s = activate_paging(); !s) return s;
  return firmware_->prepare(ram_, allocator_, *pages_, nullptr);
}

SnpStatus SnpBoot::boot_with(vtpm::TpmEngine* engine) {
  if (SnpStatus s = early(); !s) return s;
  if (SnpStatus s = accept(); !s) return s;
  if (SnpStatus s = prepare(); !s) return s;
  engine_ = engine;
  firmware_->serve(engine_);
  return SnpStatus::success();
}

void SnpBoot::boot() {
  const auto ek = [&] {
    // BootParams is only read by early(); the image options decide the EK.
    return static_cast<vtpm::EkAlgorithm>(image_.image.snp_boot_params->ek_algorithm);
  }();
  vtpm::TpmEngine& engine = vtpm::testing::shared_engine(ek);
  ASSERT_TRUE(engine.power_on());
  const SnpStatus s = boot_with(&engine);
  ASSERT_TRUE(s) << s.error().what << " " << std::hex << s.error().value1 << " "
                 << s.error().value2;
}

void release_shared_tpm() {
  vtpm::testing::shared_engine().power_off();
}

void SnpBoot::set_guest(model::GuestProgram program) {
  machine_->set_program(0, guest_vmpl(), std::move(program));
}

std::string SnpBoot::run_guest_plain(unsigned max_rounds) {
  RequestLoop& loop = firmware_->loop();
  for (unsigned i = 0; i < max_rounds && !machine_->program_finished(0, guest_vmpl()); ++i) {
    const RequestLoop::Step step = loop.run_once();
    if (step == RequestLoop::Step::kRunFailed || step == RequestLoop::Step::kNoGuest) {
      return std::string("request loop stopped: ") + loop.last_error().what;
    }
  }
  const std::string failure = machine_->program_failure(0, guest_vmpl());
  return failure.empty() ? "" : "guest program failed: " + failure;
}

std::uint64_t SnpBoot::run_guest(unsigned max_rounds) {
  const std::uint64_t before = firmware_->loop().calls_served();
  const std::string problem = run_guest_plain(max_rounds);
  EXPECT_EQ(problem, "");
  return firmware_->loop().calls_served() - before;
}

std::vector<std::string> invariant_violations(SnpBoot& boot) {
  std::vector<std::string> out;
  auto fail = [&](const std::string& what, std::uint64_t page) {
    char buf[40];
    std::snprintf(buf, sizeof buf, " 0x%llx", static_cast<unsigned long long>(page));
    out.push_back(what + buf);
  };
  Machine& m = boot.machine();
  for (const std::string& fault : m.faults()) out.push_back("model fault: " + fault);
  const boot::BootParams& p = boot.params();
  const std::uint8_t guest_vmpl = p.guest_vmpl;
  const std::uint64_t fw_start = p.firmware.gpa;
  const std::uint64_t fw_end = p.firmware.gpa + p.firmware.size;
  std::vector<std::uint64_t> vmsas = {boot.firmware().boot_vmsa_gpa()};
  const VcpuTable& vcpus = boot.firmware().platform().vcpus();
  for (std::size_t i = 0; i < VcpuTable::kCapacity; ++i) {
    if (vcpus[i].used) vmsas.push_back(vcpus[i].vmsa_gpa);
  }
  const GuestRam& ram = boot.firmware().ram();
  for (std::uint64_t page : m.pages()) {
    const model::RmpEntry& e = m.rmp(page);
    const bool firmware = page >= fw_start && page < fw_end;
    const bool is_vmsa = std::find(vmsas.begin(), vmsas.end(), page) != vmsas.end();
    for (std::uint8_t vmpl = 1; vmpl <= 3; ++vmpl) {
      if (firmware && e.permissions[vmpl] != 0) {
        fail("VMPL" + std::to_string(vmpl) + " has permissions on firmware page", page);
      }
      if (is_vmsa && e.permissions[vmpl] != 0) {
        fail("VMPL" + std::to_string(vmpl) + " has permissions on VMSA page", page);
      }
      if (vmpl < guest_vmpl && e.permissions[vmpl] != 0) {
        fail("VMPL" + std::to_string(vmpl) + " (more privileged than the guest) has permissions on",
             page);
      }
    }
    if (is_vmsa && !e.vmsa) fail("VMSA page lacks the VMSA flag:", page);
    if (e.vmsa && !is_vmsa) fail("page has the VMSA flag but is no VMSA the SVSM knows:", page);
    if (ram.contains(page, 4096) && ram.validated(page, 4096) && !(e.assigned && e.validated)) {
      fail("the SVSM thinks this page is validated, the RMP does not:", page);
    }
  }
  // The guest VMPL cannot read the firmware's own secrets page; its copy has no VMPCK below it.
  const std::size_t faults = m.faults().size();
  GuestCpu probe(m, 0, guest_vmpl);
  bool denied = false;
  try {
    (void)probe.read(p.secrets_gpa, 32);
  } catch (const model::ModelFault&) {
    denied = true;
  }
  if (!denied) fail("the guest VMPL can read the firmware's secrets page", p.secrets_gpa);
  m.drop_faults_after(faults);  // the probe's own fault is the expected one
  // No key of a VMPL more privileged than the guest's is in any page a lower VMPL can read or the
  // hypervisor can read (shared pages).
  for (std::uint8_t vmpl = 0; vmpl < guest_vmpl; ++vmpl) {
    const auto& key = m.psp().vmpck(vmpl);
    for (std::uint64_t page : m.pages()) {
      const model::RmpEntry& e = m.rmp(page);
      bool readable = !e.assigned;
      for (std::uint8_t v = 1; v <= 3; ++v) {
        readable |= (e.permissions[v] & formats::snp::vmpl_permission::kRead) != 0;
      }
      if (!readable) continue;
      const std::uint8_t* bytes = m.raw(page);
      if (std::search(bytes, bytes + 4096, key.begin(), key.end()) != bytes + 4096) {
        fail("VMPCK" + std::to_string(vmpl) + " is readable outside VMPL0 in page", page);
      }
    }
  }
  return out;
}

void expect_invariants(SnpBoot& boot, const char* when) {
  for (const std::string& v : invariant_violations(boot)) ADD_FAILURE() << when << ": " << v;
}

SnpStatus ModelVcpuHost::start_vmpl0(std::uint32_t apic_id) {
  if (context(apic_id) != nullptr) return SnpStatus::success();
  auto ctx = std::make_unique<ApContext>();
  ctx->hardware = std::make_unique<ModelHardware>(boot_.machine(), apic_id, 0);
  // The firmware's AP contexts run on the boot vCPU's page tables (ap_contexts.cpp: CR3 of the
  // VMSA = the running CPU's).
  boot_.machine().vcpu(apic_id).cr3 = boot_.machine().vcpu(0).cr3;
  ctx->hardware->set_address_space(&boot_.address_space());
  const std::uint64_t ghcb = boot_.pages().allocate_page();
  if (ghcb == 0) return SnpError{"no page for the AP's GHCB"};
  if (SnpStatus s = setup_ghcb(*ctx->hardware, ghcb); !s) return s;
  ctx->ghcb = GhcbClient(*ctx->hardware, ghcb);
  ctx->loop =
      std::make_unique<RequestLoop>(boot_.firmware().platform(), boot_.firmware().dispatcher(),
                                    *ctx->hardware, ctx->ghcb, apic_id);
  contexts_.emplace_back(apic_id, std::move(ctx));
  return SnpStatus::success();
}

ApContext* ModelVcpuHost::context(std::uint32_t apic_id) {
  for (auto& [id, ctx] : contexts_) {
    if (id == apic_id) return ctx.get();
  }
  return nullptr;
}

}  // namespace cvtpm::snp::testing
