#include "cpuid_page.h"

#include <cstring>

#include "cvtpm/formats/snp/cpuid_page.h"

namespace cvtpm::igvmgen {
namespace {

struct Leaf {
  std::uint32_t function;
  std::uint32_t subleaf;
};

// Basic and extended leaves an x86-64 firmware reads: vendor and features, caches, topology,
// XSAVE state sizes (with x87 enabled in XCR0), address sizes and the SEV capabilities leaf.
constexpr Leaf kLeaves[] = {
    {0x0, 0},        {0x1, 0},        {0x2, 0},        {0x4, 0},        {0x4, 1},
    {0x4, 2},        {0x4, 3},        {0x5, 0},        {0x6, 0},        {0x7, 0},
    {0x7, 1},        {0xB, 0},        {0xB, 1},        {0xD, 0},        {0xD, 1},
    {0xD, 2},        {0x80000000, 0}, {0x80000001, 0}, {0x80000002, 0}, {0x80000003, 0},
    {0x80000004, 0}, {0x80000005, 0}, {0x80000006, 0}, {0x80000007, 0}, {0x80000008, 0},
    {0x8000000A, 0}, {0x80000019, 0}, {0x8000001A, 0}, {0x8000001D, 0}, {0x8000001D, 1},
    {0x8000001D, 2}, {0x8000001D, 3}, {0x8000001E, 0}, {0x8000001F, 0},
};
static_assert(sizeof kLeaves / sizeof kLeaves[0] <= formats::snp::kCpuidMaxFunctions);

}  // namespace

std::array<std::uint8_t, 4096> snp_cpuid_template() {
  formats::snp::CpuidPage table{};
  for (const Leaf& leaf : kLeaves) {
    formats::snp::CpuidFunction& f = table.functions[table.count++];
    f.eax_in = leaf.function;
    f.ecx_in = leaf.subleaf;
    if (leaf.function == 0xD) f.xcr0_in = 1;  // XSAVE sizes depend on the enabled state
  }
  std::array<std::uint8_t, 4096> page{};
  std::memcpy(page.data(), &table, sizeof table);
  return page;
}

}  // namespace cvtpm::igvmgen
