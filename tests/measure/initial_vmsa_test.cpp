#include "cvtpm/measure/initial_vmsa.h"

#include <gtest/gtest.h>

#include <array>

namespace cvtpm::measure {
namespace {

// Expected pages are written at raw byte offsets (AMD APM vol. 2, table B-4), independently of
// the Vmsa struct.
class Page {
 public:
  void put(std::size_t at, std::uint64_t v, int width) {
    for (int i = 0; i < width; ++i) bytes[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  void seg(std::size_t at, std::uint16_t sel, std::uint16_t attrib, std::uint32_t limit,
           std::uint64_t base) {
    put(at, sel, 2);
    put(at + 2, attrib, 2);
    put(at + 4, limit, 4);
    put(at + 8, base, 8);
  }
  std::array<std::uint8_t, 4096> bytes{};
};

// Fields every reset-state VMSA shares.
Page reset_page(std::uint32_t eip, std::uint16_t cs_attr, std::uint16_t ss_attr,
                std::uint16_t tr_attr, std::uint64_t pat, std::uint64_t rdx,
                std::uint64_t features) {
  Page p;
  p.seg(0x00, 0, 0x93, 0xFFFF, 0);                         // es
  p.seg(0x10, 0xF000, cs_attr, 0xFFFF, eip & 0xFFFF0000);  // cs
  p.seg(0x20, 0, ss_attr, 0xFFFF, 0);                      // ss
  p.seg(0x30, 0, 0x93, 0xFFFF, 0);                         // ds
  p.seg(0x40, 0, 0x93, 0xFFFF, 0);                         // fs
  p.seg(0x50, 0, 0x93, 0xFFFF, 0);                         // gs
  p.seg(0x60, 0, 0, 0xFFFF, 0);                            // gdtr
  p.seg(0x70, 0, 0x82, 0xFFFF, 0);                         // ldtr
  p.seg(0x80, 0, 0, 0xFFFF, 0);                            // idtr
  p.seg(0x90, 0, tr_attr, 0xFFFF, 0);                      // tr
  p.put(0xD0, 0x1000, 8);                                  // efer
  p.put(0x148, 0x40, 8);                                   // cr4
  p.put(0x158, 0x10, 8);                                   // cr0
  p.put(0x160, 0x400, 8);                                  // dr7
  p.put(0x168, 0xFFFF0FF0, 8);                             // dr6
  p.put(0x170, 0x2, 8);                                    // rflags
  p.put(0x178, eip & 0xFFFF, 8);                           // rip
  p.put(0x268, pat, 8);                                    // g_pat
  p.put(0x310, rdx, 8);                                    // rdx
  p.put(0x3B0, features, 8);                               // sev_features
  p.put(0x3E8, 1, 8);                                      // xcr0
  return p;
}

std::array<std::uint8_t, 4096> actual(const Vmsa& v) {
  std::array<std::uint8_t, 4096> out{};
  auto b = vmsa_bytes(v);
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

TEST(ResetVmsa, QemuBspAndAp) {
  Page bsp = reset_page(0xFFFFFFF0, 0x9B, 0x93, 0x8B, 0x0007040600070406, 0x00A00F11, 0x21);
  bsp.put(0x408, 0x1F80, 4);  // mxcsr
  bsp.put(0x410, 0x37F, 2);   // x87 fcw
  EXPECT_EQ(actual(reset_vmsa({0xFFFFFFF0, 0x21, 0x00A00F11, VmmType::kQemu})), bsp.bytes);

  Page ap = reset_page(0x0080B004, 0x9B, 0x93, 0x8B, 0x0007040600070406, 0x00A00F11, 0x21);
  ap.put(0x408, 0x1F80, 4);
  ap.put(0x410, 0x37F, 2);
  EXPECT_EQ(actual(reset_vmsa({0x0080B004, 0x21, 0x00A00F11, VmmType::kQemu})), ap.bytes);
}

TEST(ResetVmsa, LegacyHostsLeaveTheFpuStateZero) {
  Page bsp = reset_page(0xFFFFFFF0, 0x9B, 0x93, 0x8B, 0x0007040600070406, 0x800F12, 0x1);
  ResetVmsaParams p{0xFFFFFFF0, 0x1, 0x800F12, VmmType::kQemu, true};
  EXPECT_EQ(actual(reset_vmsa(p)), bsp.bytes);
}

TEST(ResetVmsa, Ec2) {
  Page bsp = reset_page(0xFFFFFFF0, 0x9A, 0x92, 0x83, 0x0007040600070406, 0x600, 0x1);
  EXPECT_EQ(actual(reset_vmsa({0xFFFFFFF0, 0x1, 0x800F12, VmmType::kEc2})), bsp.bytes);
  Page ap = reset_page(0x0080B004, 0x9B, 0x92, 0x83, 0x0007040600070406, 0x600, 0x1);
  EXPECT_EQ(actual(reset_vmsa({0x0080B004, 0x1, 0x800F12, VmmType::kEc2})), ap.bytes);
}

TEST(ResetVmsa, Gce) {
  Page bsp = reset_page(0xFFFFFFF0, 0x9B, 0x93, 0x8B, 0x00070106, 0x600, 0x1);
  EXPECT_EQ(actual(reset_vmsa({0xFFFFFFF0, 0x1, 0x800F12, VmmType::kGce})), bsp.bytes);
}

TEST(LegacySvsmVmsa, ProtectedModeAtTheEntryPoint) {
  Page p;
  for (std::size_t seg : {0x00, 0x20, 0x30, 0x40}) p.seg(seg, 0x10, 0xC93, 0xFFFFFFFF, 0);
  p.seg(0x10, 0x08, 0xC9B, 0xFFFFFFFF, 0);
  p.seg(0x50, 0, 0x93, 0xFFFF, 0);
  p.seg(0x60, 0, 0, 0xFFFF, 0);
  p.seg(0x70, 0, 0x82, 0xFFFF, 0);
  p.seg(0x80, 0, 0, 0xFFFF, 0);
  p.seg(0x90, 0, 0x8B, 0xFFFF, 0);
  p.put(0xD0, 0x1000, 8);
  p.put(0x148, 0x40, 8);
  p.put(0x158, 0x11, 8);
  p.put(0x160, 0x400, 8);
  p.put(0x168, 0xFFFF0FF0, 8);
  p.put(0x170, 0x2, 8);
  p.put(0x178, 0xFFDE0123, 8);
  p.put(0x268, 0x0007040600070406, 8);
  p.put(0x310, 0x800F12, 8);
  p.put(0x3B0, 0x1, 8);
  p.put(0x3E8, 1, 8);
  p.put(0x408, 0x1F80, 4);
  EXPECT_EQ(actual(legacy_svsm_vmsa(0xFFDE0123, 0x800F12)), p.bytes);
}

TEST(VmmType, NamesRoundTrip) {
  for (VmmType t : {VmmType::kQemu, VmmType::kEc2, VmmType::kGce}) {
    EXPECT_EQ(parse_vmm_type(vmm_type_name(t)), t);
  }
  EXPECT_FALSE(parse_vmm_type("qemu"));
}

}  // namespace
}  // namespace cvtpm::measure
