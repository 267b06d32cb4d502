#include "cvtpm/snp/firmware.h"

#include <cstring>

#include "cvtpm/formats/snp/cpuid_page.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/snp/guest_setup.h"
#include "cvtpm/snp/page_state.h"

namespace cvtpm::snp {

namespace boot = formats::boot;
namespace fs = formats::snp;

namespace {

// Copies `size` bytes at gpa (inside one page) out of private memory.
SnpStatus read_private(SnpHardware& hardware, std::uint64_t gpa, void* out, std::size_t size) {
  Mapping page(hardware, gpa, size, Encryption::kPrivate);
  if (!page) return SnpError{"firmware page not accessible", gpa};
  std::memcpy(out, page.data(), size);
  return SnpStatus::success();
}

void secure_zero(void* p, std::size_t n) {
  volatile auto* bytes = static_cast<volatile std::uint8_t*>(p);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = 0;
}

}  // namespace

SnpFirmware::~SnpFirmware() {
  if (bitmap_ != nullptr && bitmap_allocator_ != nullptr) {
    bitmap_allocator_->deallocate(bitmap_, bitmap_bytes_, 4096);
  }
}

SnpStatus SnpFirmware::early(std::uint64_t boot_params_gpa, std::uint64_t ghcb_gpa,
                             const NegotiateOptions& options) {
  if ((boot_params_gpa & kPageMask) != 0) return SnpError{"BootParams: unaligned", boot_params_gpa};
  if (SnpStatus s = read_private(hardware_, boot_params_gpa, &params_, sizeof params_); !s)
    return s;
  if (SnpStatus s = check_boot_params(params_); !s) return s;

  const auto hypervisor = negotiate(hardware_, options);
  if (!hypervisor) return hypervisor.error();
  hypervisor_ = hypervisor.value();

  vmpl0_sev_features_ = sev_features_from_status(hardware_.read_sev_status());
  if ((vmpl0_sev_features_ & fs::sev_features::kRestrictedInjection) == 0) {
    // Supported, but the hypervisor can then inject #VC; the exception gate terminates the guest
    // where that would corrupt the firmware (docs/snp-platform.md, "Exceptions at VMPL0").
    log_.write(LogLevel::kWarn,
               "snp: VMPL0 runs without Restricted Injection (SEV_FEATURES 0x%lx): the hypervisor "
               "can inject events into the SVSM; cvtpm-igvmgen's default sets it",
               static_cast<unsigned long>(vmpl0_sev_features_));
  }

  fs::CpuidPage page;
  if (SnpStatus s = read_private(hardware_, params_.cpuid_gpa, &page, sizeof page); !s) return s;
  if (SnpStatus s = cpuid_.load(page); !s) return s;
  // The page tables use the C-bit position of the PSP-checked CPUID page; the hypervisor's claim
  // is only compared.
  const std::uint8_t cbit = cpuid_.cbit_position();
  if (cbit == 0) return SnpError{"CPUID page: no C-bit position (function 0x8000001F)"};
  if (hypervisor_.sev.cbit != cbit) {
    log_.write(LogLevel::kWarn, "snp: the hypervisor claims C-bit %u, the CPUID page says %u",
               hypervisor_.sev.cbit, cbit);
  }

  const boot::Range& image = params_.image;
  if ((ghcb_gpa & kPageMask) != 0 || ghcb_gpa < image.gpa || ghcb_gpa >= image.gpa + image.size ||
      ghcb_gpa == params_.secrets_gpa || ghcb_gpa == params_.cpuid_gpa) {
    return SnpError{"GHCB page not a free page of the launched image", ghcb_gpa};
  }
  if (SnpStatus s = setup_ghcb(hardware_, ghcb_gpa); !s) return s;
  ghcb_ = GhcbClient(hardware_, ghcb_gpa);
  return SnpStatus::success();
}

SnpStatus SnpFirmware::accept_firmware_memory() {
  if (!ghcb_.bound()) return SnpError{"accept_firmware_memory before early()"};
  return validate_firmware_region(hardware_, ghcb_, params_);
}

SnpStatus SnpFirmware::prepare(std::span<const GpaRange> ram, vtpm::Allocator& allocator,
                               PageSource& pages, VcpuHost* vcpu_host) {
  if (!ghcb_.bound()) return SnpError{"prepare before early()"};
  // Guest RAM: the loader's map plus OVMF's flash, in address order.
  const boot::GuestFirmwareInfo& guest = params_.guest;
  GpaRange ranges[GuestRam::kMaxRanges];
  std::size_t count = 0;
  bool flash_added = false;
  const GpaRange flash{guest.flash_gpa, guest.flash_gpa + guest.flash_size};
  for (const GpaRange& r : ram) {
    if (count + 2 > GuestRam::kMaxRanges) return SnpError{"guest RAM: too many ranges", count};
    if (!flash_added && flash.end <= r.start) {
      ranges[count++] = flash;
      flash_added = true;
    }
    if (r.start < flash.end && flash.start < r.end) {
      return SnpError{"guest RAM: the memory map overlaps the guest firmware's flash", r.start};
    }
    ranges[count++] = r;
  }
  if (!flash_added) ranges[count++] = flash;
  std::uint64_t top = 0;
  for (std::size_t i = 0; i < count; ++i) top = ranges[i].end > top ? ranges[i].end : top;
  if (top > GuestRam::kMaxTop) return SnpError{"guest RAM above the supported limit", top};
  bitmap_bytes_ = GuestRam::bitmap_words(top) * sizeof(std::uint64_t);
  bitmap_ = static_cast<std::uint64_t*>(allocator.allocate(bitmap_bytes_, 4096));
  if (bitmap_ == nullptr) return SnpError{"no memory for the validated-page bitmap", bitmap_bytes_};
  bitmap_allocator_ = &allocator;
  std::memset(bitmap_, 0, bitmap_bytes_);
  if (SnpStatus s = ram_.init({ranges, count},
                              {params_.firmware.gpa, params_.firmware.gpa + params_.firmware.size},
                              {bitmap_, bitmap_bytes_ / sizeof(std::uint64_t)});
      !s) {
    return s;
  }

  // Every RMP permission change is followed by INVLPGB + TLBSYNC; find out now, at boot, whether
  // this host provides them (a fault here stops the boot), not in the middle of a guest's call.
  const bool reported = (cpuid_.lookup(0x8000'0008, 0, 0).ebx & (1u << 3)) != 0;
  log_.write(LogLevel::kInfo,
             "snp: TLB invalidation on every vCPU with INVLPGB/TLBSYNC (the CPUID page %s them); "
             "if the boot stops here, this host does not let the guest use them and cvtpm "
             "cannot run",
             reported ? "reports" : "does not report");
  hardware_.flush_tlb_all_vcpus();

  SnpPlatformConfig config;
  config.guest_vmpl = params_.guest_vmpl;
  config.guest_sev_features = params_.guest_sev_features;
  SnpPlatform& platform = platform_.construct(hardware_, ram_, allocator, config, log_);
  platform.set_vcpu_host(vcpu_host);

  // The channel to the PSP: two firmware pages shared with the hypervisor, and VMPCK0 from the
  // firmware's secrets page (which stays in firmware memory).
  request_page_gpa_ = pages.allocate_page();
  response_page_gpa_ = pages.allocate_page();
  boot_vmsa_gpa_ = allocate_vmsa_page(pages);
  if (request_page_gpa_ == 0 || response_page_gpa_ == 0 || boot_vmsa_gpa_ == 0) {
    return SnpError{"no firmware pages for the guest request channel and the boot VMSA"};
  }
  for (std::uint64_t page : {request_page_gpa_, response_page_gpa_}) {
    if (SnpStatus s = make_page_shared(hardware_, &ghcb_, page); !s) return s;
  }
  fs::SecretsPage secrets;
  if (SnpStatus s = read_private(hardware_, params_.secrets_gpa, &secrets, sizeof secrets); !s) {
    return s;
  }
  platform.guest_requests().init(std::span<const std::uint8_t, fs::kVmpckSize>(secrets.vmpck[0]), 0,
                                 request_page_gpa_, response_page_gpa_);
  if (!platform.guest_requests().usable()) {
    log_.write(LogLevel::kWarn, "snp: VMPCK0 is zero: no attestation reports");
  }

  GuestSetupInput input;
  input.params = &params_;
  input.secrets = &secrets;
  input.cpuid = &cpuid_;
  input.vmsa_gpa = boot_vmsa_gpa_;
  input.boot_apic_id = 0;
  input.loader_ram = ram;
  const SnpStatus prepared = prepare_guest(hardware_, ghcb_, platform, input, log_);
  secure_zero(&secrets, sizeof secrets);
  return prepared;
}

SnpStatus SnpFirmware::state_root_key(std::span<std::uint8_t, fs::kDerivedKeySize> key) {
  if (!platform_.constructed()) return SnpError{"state_root_key before prepare()"};
  return derive_state_root_key(platform_.get().guest_requests(), ghcb_, params_, key);
}

RequestLoop& SnpFirmware::serve(vtpm::TpmEngine* engine, const vtpm::StateEvidence* state) {
  vtpm::Dispatcher& dispatcher = dispatcher_.construct(platform_.get(), engine);
  dispatcher.set_state_evidence(state);
  return loop_.construct(platform_.get(), dispatcher, hardware_, ghcb_, 0);
}

}  // namespace cvtpm::snp
