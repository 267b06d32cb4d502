// AMD SEV-SNP product lines and their TCB_VERSION layouts: which pinned root a VCEK chains to,
// and how the u64 TCB fields of a report decode.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cvtpm/formats/snp/attestation_report.h"

namespace cvtpm::verify {

enum class ProductLine { kMilan, kGenoa, kTurin };

std::string_view product_line_name(ProductLine line);

// The product line of a V[CL]EK productName extension: "Milan-B0" (a VCEK names the stepping,
// letters and digits) or "Milan" (a VLEK does not) — go-sev-guest kds/kds.go ParseProductName
// and ProductLine. Anything else names no product.
std::optional<ProductLine> product_line_from_name(std::string_view product_name);

// The product line of a report's CPUID_FAM_ID / CPUID_MOD_ID (report version 3 and later):
// family 19h models 00h-0Fh Milan, 10h-1Fh and A0h-AFh Genoa; family 1Ah models 00h-11h Turin
// (virtee/sev src/lib.rs Generation::identify_cpu).
std::optional<ProductLine> product_line_from_cpuid(std::uint8_t family, std::uint8_t model);

// One TCB_VERSION decoded. Milan and Genoa: byte 0 boot loader, 1 TEE, 2-5 reserved, 6 SNP,
// 7 microcode; Turin: byte 0 FMC, 1 boot loader, 2 TEE, 3 SNP, 4-6 reserved, 7 microcode
// (../shared/reference/attestation/README.md; virtee/sev src/firmware/host/types/snp.rs
// TcbVersion::from_legacy_bytes and from_turin_bytes).
struct Tcb {
  std::uint8_t boot_loader = 0;
  std::uint8_t tee = 0;
  std::uint8_t snp = 0;
  std::uint8_t microcode = 0;
  std::optional<std::uint8_t> fmc;  // Turin only
};

Tcb decode_tcb(const formats::snp::TcbVersion& raw, ProductLine line);

// "bl=3 tee=0 snp=8 microcode=115" (and " fmc=N" on Turin).
std::string describe_tcb(const Tcb& tcb);

}  // namespace cvtpm::verify
