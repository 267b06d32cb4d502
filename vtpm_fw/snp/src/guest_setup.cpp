#include "cvtpm/snp/guest_setup.h"

#include <algorithm>
#include <cstring>

#include "cvtpm/formats/snp/cpuid_page.h"
#include "cvtpm/formats/snp/ghcb.h"
#include "cvtpm/formats/snp/rmp_instructions.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/snp/page_state.h"
#include "cvtpm/snp/vmsa_builder.h"

namespace cvtpm::snp {

namespace boot = formats::boot;
namespace fs = formats::snp;

namespace {

constexpr std::uint64_t k4G = std::uint64_t{1} << 32;

bool page_aligned(std::uint64_t v) {
  return (v & kPageMask) == 0;
}

bool overlaps(std::uint64_t a, std::uint64_t a_size, std::uint64_t b, std::uint64_t b_size) {
  return a < b + b_size && b < a + a_size;
}

// A range of the guest firmware's: page aligned, non-empty, not wrapping, in guest RAM (which
// never includes the firmware region).
SnpStatus check_guest_range(const char* what, std::uint64_t gpa, std::uint64_t size,
                            const boot::BootParams& params, const GuestRam& ram) {
  if (!page_aligned(gpa) || !page_aligned(size) || size == 0 || gpa + size < gpa) {
    return SnpError{what, gpa, size};
  }
  if (overlaps(gpa, size, params.firmware.gpa, params.firmware.size) || !ram.contains(gpa, size)) {
    return SnpError{what, gpa, size};
  }
  return SnpStatus::success();
}

// Accept, zero and grant to the guest VMPL.
SnpStatus give_new_pages(SnpHardware& hardware, GhcbClient& ghcb, SnpPlatform& platform,
                         std::uint64_t gpa, std::uint64_t size) {
  if (SnpStatus s = accept_private(hardware, &ghcb, gpa, size); !s) return s;
  if (SnpStatus s = zero_private(hardware, gpa, size); !s) return s;
  if (SnpStatus s = set_vmpl_permissions(hardware, gpa, size, platform.config().guest_vmpl,
                                         fs::vmpl_permission::kAll, PageSize::k4K);
      !s) {
    return s;
  }
  platform.ram().set_validated(gpa, size, true);
  return SnpStatus::success();
}

SnpStatus write_page(SnpHardware& hardware, std::uint64_t gpa, const void* bytes,
                     std::size_t size) {
  Mapping page(hardware, gpa, kPageSize, Encryption::kPrivate);
  if (!page) return SnpError{"guest page not accessible", gpa};
  std::memset(page.data(), 0, kPageSize);
  std::memcpy(page.data(), bytes, size);
  return SnpStatus::success();
}

}  // namespace

void build_guest_secrets(const fs::SecretsPage& firmware_secrets, std::uint8_t guest_vmpl,
                         std::uint64_t svsm_base, std::uint64_t svsm_size, std::uint64_t caa_gpa,
                         fs::SecretsPage& out) {
  std::memcpy(&out, &firmware_secrets, sizeof out);
  // The keys of VMPLs more privileged than the guest's stay with the SVSM.
  for (std::size_t vmpl = 0; vmpl < guest_vmpl && vmpl < fs::kVmpckCount; ++vmpl) {
    std::memset(out.vmpck[vmpl], 0, fs::kVmpckSize);
  }
  out.svsm_base = svsm_base;
  out.svsm_size = svsm_size;
  out.svsm_caa = caa_gpa;
  out.svsm_max_version = kSvsmMaxCoreVersion;
  out.svsm_guest_vmpl = guest_vmpl;
  std::memset(out.reserved_15d, 0, sizeof out.reserved_15d);
}

SnpResult<std::size_t> build_guest_memory_map(std::span<const GpaRange> loader_ram,
                                              GpaRange firmware_region,
                                              std::span<GuestMemoryMapEntry> out) {
  std::size_t count = 0;
  auto add = [&](std::uint64_t start, std::uint64_t end) -> bool {
    if (start >= end) return true;
    if (count == out.size()) return false;
    out[count++] = {start / kPageSize, (end - start) / kPageSize, 0, 0, 0};
    return true;
  };
  for (const GpaRange& r : loader_ram) {
    const std::uint64_t start = r.start & ~kPageMask;
    const std::uint64_t end = r.end & ~kPageMask;
    // The firmware region splits a range in two (COCONUT-SVSM's init_memory_map does the same).
    const bool fits = add(start, end < firmware_region.start ? end : firmware_region.start) &&
                      add(start > firmware_region.end ? start : firmware_region.end, end);
    if (!fits) return SnpError{"guest memory map: more RAM ranges than it holds", out.size()};
  }
  if (count < out.size()) out[count] = {};
  return count;
}

SnpStatus check_guest_layout(const boot::BootParams& params, const GuestRam& ram) {
  const boot::GuestFirmwareInfo& guest = params.guest;
  if (guest.flash_size == 0 || guest.flash_size > kMaxFlashSize ||
      !page_aligned(guest.flash_size) || guest.flash_gpa != k4G - guest.flash_size) {
    return SnpError{"guest firmware: flash does not end at 4 GiB", guest.flash_gpa,
                    guest.flash_size};
  }
  if (SnpStatus s = check_guest_range("guest firmware: flash outside guest memory", guest.flash_gpa,
                                      guest.flash_size, params, ram);
      !s) {
    return s;
  }
  if ((guest.reset_eip & ~std::uint64_t{0xFFFF'FFFF}) != 0 ||
      !(guest.reset_eip >= guest.flash_gpa && guest.reset_eip < k4G)) {
    return SnpError{"guest firmware: reset vector outside the flash", guest.reset_eip};
  }
  if (guest.caa_gpa == 0) {
    return SnpError{"guest firmware: no SVSM calling area (OVMF without SVSM support)"};
  }
  const std::uint64_t pages[3] = {guest.secrets_gpa, guest.cpuid_gpa, guest.caa_gpa};
  for (std::size_t i = 0; i < 3; ++i) {
    if (SnpStatus s = check_guest_range("guest firmware: secrets, CPUID or calling-area page bad",
                                        pages[i], kPageSize, params, ram);
        !s) {
      return s;
    }
    if (overlaps(pages[i], kPageSize, guest.flash_gpa, guest.flash_size)) {
      return SnpError{"guest firmware: special page inside the flash", pages[i]};
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (pages[i] == pages[j]) return SnpError{"guest firmware: special pages coincide", pages[i]};
    }
  }
  // OVMF pre-validates all RAM it knows; without the map it takes the hypervisor's e820, which
  // holds the firmware region, and stops when the SVSM refuses those pages.
  const boot::Range& map = params.guest_memory_map;
  if (map.size < sizeof(GuestMemoryMapEntry) || map.gpa == 0) {
    return SnpError{
        "guest firmware: no IGVM memory map (an OVMF older than edk2-stable202511 "
        "would pre-validate the firmware region and stop)",
        map.gpa, map.size};
  }
  if ((map.gpa & kPageMask) + map.size > kPageSize || map.gpa % 8 != 0) {
    return SnpError{"guest firmware: IGVM memory map not within one page", map.gpa, map.size};
  }
  bool map_prevalidated = false;
  for (std::uint32_t i = 0; i < guest.prevalidated_count && i < boot::kMaxPrevalidatedRanges; ++i) {
    const boot::Range& r = guest.prevalidated[i];
    map_prevalidated |= map.gpa >= r.gpa && map.gpa - r.gpa < r.size && map.size <= r.size &&
                        map.gpa - r.gpa <= r.size - map.size;
  }
  if (!map_prevalidated) {
    return SnpError{"guest firmware: IGVM memory map outside the pre-validated memory", map.gpa,
                    map.size};
  }
  if (guest.prevalidated_count > boot::kMaxPrevalidatedRanges) {
    return SnpError{"guest firmware: too many pre-validated ranges", guest.prevalidated_count};
  }
  for (std::uint32_t i = 0; i < guest.prevalidated_count; ++i) {
    const boot::Range& r = guest.prevalidated[i];
    if (SnpStatus s = check_guest_range("guest firmware: pre-validated range bad", r.gpa, r.size,
                                        params, ram);
        !s) {
      return s;
    }
    if (overlaps(r.gpa, r.size, guest.flash_gpa, guest.flash_size)) {
      return SnpError{"guest firmware: pre-validated range inside the flash", r.gpa, r.size};
    }
    for (std::uint64_t page : pages) {
      if (overlaps(r.gpa, r.size, page, kPageSize)) {
        return SnpError{"guest firmware: pre-validated range holds a special page", r.gpa, page};
      }
    }
    for (std::uint32_t j = 0; j < i; ++j) {
      if (overlaps(r.gpa, r.size, guest.prevalidated[j].gpa, guest.prevalidated[j].size)) {
        return SnpError{"guest firmware: pre-validated ranges overlap", r.gpa,
                        guest.prevalidated[j].gpa};
      }
    }
  }
  return SnpStatus::success();
}

SnpStatus prepare_guest(SnpHardware& hardware, GhcbClient& ghcb, SnpPlatform& platform,
                        const GuestSetupInput& input, Log& log) {
  const boot::BootParams& params = *input.params;
  const boot::GuestFirmwareInfo& guest = params.guest;
  const std::uint8_t vmpl = platform.config().guest_vmpl;
  if (SnpStatus s = check_guest_layout(params, platform.ram()); !s) return s;
  if (!page_aligned(input.vmsa_gpa) ||
      !(input.vmsa_gpa >= params.firmware.gpa &&
        input.vmsa_gpa - params.firmware.gpa < params.firmware.size)) {
    return SnpError{"guest setup: boot VMSA not a firmware page", input.vmsa_gpa};
  }

  // Memory OVMF expects to find validated.
  for (std::uint32_t i = 0; i < guest.prevalidated_count; ++i) {
    if (SnpStatus s = give_new_pages(hardware, ghcb, platform, guest.prevalidated[i].gpa,
                                     guest.prevalidated[i].size);
        !s) {
      return s;
    }
  }
  for (std::uint64_t page : {guest.secrets_gpa, guest.cpuid_gpa, guest.caa_gpa}) {
    if (SnpStatus s = give_new_pages(hardware, ghcb, platform, page, kPageSize); !s) return s;
  }
  // The flash was validated (and measured) at launch; the guest VMPL needs access to it.
  if (SnpStatus s = set_vmpl_permissions(hardware, guest.flash_gpa, guest.flash_size, vmpl,
                                         fs::vmpl_permission::kAll, PageSize::k4K);
      !s) {
    return s;
  }
  platform.ram().set_validated(guest.flash_gpa, guest.flash_size, true);

  // The RAM OVMF will pre-validate through the SVSM: never the firmware region.
  {
    GuestMemoryMapEntry entries[kPageSize / sizeof(GuestMemoryMapEntry)];
    const std::size_t capacity =
        std::min<std::size_t>(params.guest_memory_map.size / sizeof(GuestMemoryMapEntry),
                              sizeof entries / sizeof entries[0]);
    const auto built = build_guest_memory_map(
        input.loader_ram, {params.firmware.gpa, params.firmware.gpa + params.firmware.size},
        {entries, capacity});
    if (!built) return built.error();
    const std::size_t bytes =
        (built.value() < capacity ? built.value() + 1 : built.value()) * sizeof entries[0];
    Mapping page(hardware, params.guest_memory_map.gpa, bytes, Encryption::kPrivate);
    if (!page) return SnpError{"guest memory map not accessible", params.guest_memory_map.gpa};
    std::memcpy(page.data(), entries, bytes);
  }

  // CPUID table and secrets.
  if (SnpStatus s =
          write_page(hardware, guest.cpuid_gpa, &input.cpuid->page(), sizeof(fs::CpuidPage));
      !s) {
    return s;
  }
  fs::SecretsPage guest_secrets;
  build_guest_secrets(*input.secrets, vmpl, params.firmware.gpa, params.firmware.size,
                      guest.caa_gpa, guest_secrets);
  const SnpStatus written =
      write_page(hardware, guest.secrets_gpa, &guest_secrets, sizeof guest_secrets);
  std::memset(guest_secrets.vmpck, 0, sizeof guest_secrets.vmpck);
  if (!written) return written;

  // The boot vCPU's VMSA.
  fs::Vmsa vmsa;
  ResetVmsaConfig reset{};
  reset.reset_eip = guest.reset_eip;
  reset.vmpl = vmpl;
  reset.sev_features = params.guest_sev_features;
  reset.cpu_signature = input.cpuid->lookup(1, 0, 0).eax;
  build_reset_vmsa(vmsa, reset);
  if (SnpStatus s = write_page(hardware, input.vmsa_gpa, &vmsa, sizeof vmsa); !s) return s;
  const std::uint32_t adjusted =
      hardware.rmpadjust(input.vmsa_gpa, PageSize::k4K, fs::rmpadjust_attributes(vmpl, 0, true));
  if (adjusted != fs::rmp_result::kSuccess) {
    return SnpError{"guest setup: RMPADJUST of the boot VMSA failed", input.vmsa_gpa, adjusted};
  }
  if (SnpStatus s = ghcb.ap_create(fs::ap_creation::kCreateOnInit, input.boot_apic_id, vmpl,
                                   input.vmsa_gpa, params.guest_sev_features);
      !s) {
    return s;
  }
  if (SnpStatus s = platform.add_boot_vcpu(input.boot_apic_id, input.vmsa_gpa, guest.caa_gpa); !s) {
    return s;
  }
  log.write(LogLevel::kInfo,
            "snp: guest prepared: VMPL%u, flash 0x%lx+0x%lx, %u pre-validated ranges, calling "
            "area 0x%lx, reset vector 0x%lx",
            vmpl, static_cast<unsigned long>(guest.flash_gpa),
            static_cast<unsigned long>(guest.flash_size), guest.prevalidated_count,
            static_cast<unsigned long>(guest.caa_gpa), static_cast<unsigned long>(guest.reset_eip));
  return SnpStatus::success();
}

}  // namespace cvtpm::snp
