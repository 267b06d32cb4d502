#include "cvtpm/verify/product.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace cvtpm::verify {

std::string_view product_line_name(ProductLine line) {
  switch (line) {
    case ProductLine::kMilan:
      return "Milan";
    case ProductLine::kGenoa:
      return "Genoa";
    case ProductLine::kTurin:
      return "Turin";
  }
  return "unknown";
}

std::optional<ProductLine> product_line_from_name(std::string_view product_name) {
  const std::size_t dash = product_name.find('-');
  const std::string_view line = product_name.substr(0, dash);
  if (dash != std::string_view::npos) {
    const std::string_view stepping = product_name.substr(dash + 1);
    if (stepping.empty() || !std::all_of(stepping.begin(), stepping.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) != 0;
        })) {
      return std::nullopt;
    }
  }
  for (ProductLine candidate : {ProductLine::kMilan, ProductLine::kGenoa, ProductLine::kTurin}) {
    if (line == product_line_name(candidate)) return candidate;
  }
  return std::nullopt;
}

std::optional<ProductLine> product_line_from_cpuid(std::uint8_t family, std::uint8_t model) {
  if (family == 0x19) {
    if (model <= 0x0F) return ProductLine::kMilan;
    if ((model >= 0x10 && model <= 0x1F) || (model >= 0xA0 && model <= 0xAF)) {
      return ProductLine::kGenoa;
    }
  }
  if (family == 0x1A && model <= 0x11) return ProductLine::kTurin;
  return std::nullopt;
}

Tcb decode_tcb(const formats::snp::TcbVersion& raw, ProductLine line) {
  if (line == ProductLine::kTurin) {
    formats::snp::TurinTcbVersion turin;
    static_assert(sizeof turin == sizeof raw);
    std::memcpy(&turin, &raw, sizeof turin);
    return {turin.boot_loader, turin.tee, turin.snp, turin.microcode, turin.fmc};
  }
  return {raw.boot_loader, raw.tee, raw.snp, raw.microcode, std::nullopt};
}

std::string describe_tcb(const Tcb& tcb) {
  std::string text = "bl=" + std::to_string(tcb.boot_loader) + " tee=" + std::to_string(tcb.tee) +
                     " snp=" + std::to_string(tcb.snp) +
                     " microcode=" + std::to_string(tcb.microcode);
  if (tcb.fmc) text += " fmc=" + std::to_string(*tcb.fmc);
  return text;
}

}  // namespace cvtpm::verify
