// IGVM launch digests against an independent PAGE_INFO chain (tests/testing/reference_chain.h)
// over files built byte by byte, and the --check-kvm rules.
#include "cvtpm/measure/igvm_measure.h"

#include <gtest/gtest.h>

#include <cstring>

#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/support/error.h"
#include "raw_igvm.h"
#include "reference_chain.h"

namespace cvtpm::measure {
namespace {

using formats::igvm::IgvmFile;
using formats::snp::Vmsa;
using testing::Bytes;
using testing::RawIgvm;
using testing::ReferenceChain;

constexpr std::uint64_t kVmsaGpa = 0xFFFFFFFFF000;

// A VMSA with only fields KVM takes and the values KVM measures.
Vmsa kvm_vmsa() {
  Vmsa v{};
  v.cs = {0x08, 0xC9B, 0xFFFFFFFF, 0};
  v.ds = v.es = v.ss = {0x10, 0xC93, 0xFFFFFFFF, 0};
  v.efer = 0x1000;
  v.cr0 = 0x31;
  v.cr4 = 0x40;
  v.rflags = 2;
  v.rip = 0x8000000;
  v.rax = 0xC7B00003;
  v.rsi = 0x8005000;
  v.xcr0 = 1;
  v.g_pat = 0x0007040600070406;
  v.sev_features = 1;
  return v;
}

Bytes bytes_of(const Vmsa& v) {
  Bytes b(sizeof v);
  std::memcpy(b.data(), &v, sizeof v);
  return b;
}

IgvmFile parse(const Bytes& b) {
  return formats::igvm::parse_igvm(ByteBuffer(b), "t.igvm");
}

std::array<std::uint8_t, 48> digest48(const std::vector<std::uint8_t>& d) {
  std::array<std::uint8_t, 48> out{};
  EXPECT_EQ(d.size(), 48u);
  std::copy(d.begin(), d.end(), out.begin());
  return out;
}

// Every page type, a two-page parameter area, pages of another platform, a native VP context
// and the SNP VMSA.
RawIgvm every_page_type(const Bytes& vmsa) {
  RawIgvm f(2);
  f.platform(1, 2, 2)
      .platform(2, 0)
      .guest_policy(0x30000, 1)
      .area(0x2000, 0)
      .usage(0x307, 0, 0)
      .insert(0x10000, 3, 0)
      .page(0x20000, 3, 0, 0, testing::pattern_page(1))
      .page(0x21000, 3, 0, 0, std::nullopt)
      .page(0x22000, 1, 2, 0, testing::pattern_page(2))
      .page(0x23000, 1, 0, 1, std::nullopt)
      .page(0x24000, 1, 0, 2, testing::pattern_page(3))
      .page(0x25000, 1, 0, 3, std::nullopt)
      .page(0x200000, 1, 1, 0, std::nullopt)
      .page(0x26000, 2, 0, 0, testing::pattern_page(4))
      .vp_context(0, 2, 0, Bytes(4096, 0))
      .vp_context(kVmsaGpa, 1, 0, vmsa);
  return f;
}

ReferenceChain expected_every_page_type(const Bytes& vmsa, bool native_zero) {
  const Bytes zeros(4096, 0);
  ReferenceChain ref;
  ref.pages(0x10000, 0x2000, ReferenceChain::kUnmeasured);  // the whole area (QEMU)
  ref.page(0x20000, ReferenceChain::kNormal, testing::pattern_page(1));
  if (native_zero) {
    ref.page(0x21000, ReferenceChain::kZero);
  } else {
    ref.page(0x21000, ReferenceChain::kNormal, zeros);
  }
  ref.page(0x22000, ReferenceChain::kUnmeasured);
  ref.page(0x23000, ReferenceChain::kSecrets);
  ref.page(0x24000, ReferenceChain::kCpuid);
  ref.page(0x25000, ReferenceChain::kCpuid);
  for (std::uint64_t off = 0; off < 0x200000; off += 0x1000) {
    if (native_zero) {
      ref.page(0x200000 + off, ReferenceChain::kZero);
    } else {
      ref.page(0x200000 + off, ReferenceChain::kNormal, zeros);
    }
  }
  ref.page(kVmsaGpa, ReferenceChain::kVmsa, vmsa);  // padded to 4 KiB: the Vmsa struct is 4 KiB
  return ref;
}

TEST(IgvmMeasure, EveryPageTypeMatchesAnIndependentChain) {
  const Bytes vmsa = bytes_of(kvm_vmsa());
  const IgvmFile file = parse(every_page_type(vmsa).build());
  for (bool native_zero : {false, true}) {
    SCOPED_TRACE(native_zero);
    IgvmMeasureOptions o;
    o.native_zero = native_zero;
    o.check_kvm = true;
    const IgvmMeasurement m = measure_igvm(file, o, "t.igvm");
    EXPECT_EQ(digest48(m.digest), expected_every_page_type(vmsa, native_zero).digest());
    EXPECT_EQ(m.compatibility_mask, 1u);
    EXPECT_EQ(m.vmsa_count, 1u);
    EXPECT_EQ(m.guest_policy, 0x30000u);
    EXPECT_FALSE(m.id_block_digest.has_value());
  }
}

TEST(IgvmMeasure, ListsTheMeasuredRegions) {
  const IgvmFile file = parse(every_page_type(bytes_of(kvm_vmsa())).build());
  const std::string text = measure_igvm(file, {}, "t.igvm").regions.to_text();
  EXPECT_EQ(text,
            "gpa 0x10000 len 0x2000 (Unmeasured page)\n"
            "gpa 0x20000 len 0x2000 (Normal page)\n"
            "gpa 0x22000 len 0x1000 (Unmeasured page)\n"
            "gpa 0x23000 len 0x1000 (Secrets page)\n"
            "gpa 0x24000 len 0x2000 (Cpuid page)\n"
            "gpa 0x200000 len 0x200000 (Normal page)\n"
            "gpa 0xfffffffff000 len 0x1000 (VMSA page)\n");
}

TEST(IgvmMeasure, DirectiveOrderIsTheMeasurementOrder) {
  RawIgvm a, b;
  a.platform(1, 2)
      .page(0x1000, 1, 0, 0, testing::pattern_page(1))
      .page(0x2000, 1, 0, 1, std::nullopt);
  b.platform(1, 2)
      .page(0x2000, 1, 0, 1, std::nullopt)
      .page(0x1000, 1, 0, 0, testing::pattern_page(1));
  ReferenceChain ra, rb;
  ra.page(0x1000, ReferenceChain::kNormal, testing::pattern_page(1));
  ra.page(0x2000, ReferenceChain::kSecrets);
  rb.page(0x2000, ReferenceChain::kSecrets);
  rb.page(0x1000, ReferenceChain::kNormal, testing::pattern_page(1));
  const auto da = digest48(measure_igvm(parse(a.build()), {}, "a").digest);
  const auto db = digest48(measure_igvm(parse(b.build()), {}, "b").digest);
  EXPECT_EQ(da, ra.digest());
  EXPECT_EQ(db, rb.digest());
  EXPECT_NE(da, db);
}

TEST(IgvmMeasure, OnlyDirectivesOfThePlatformCount) {
  // The same file with and without headers of another platform measures the same.
  RawIgvm with_native(2), snp_only(2);
  with_native.platform(1, 2)
      .platform(2, 0)
      .page(0x1000, 3, 0, 0, testing::pattern_page(1))
      .page(0x2000, 2, 0, 0, testing::pattern_page(2))
      .area(0x1000, 0)
      .insert(0x3000, 2, 0)
      .id_block(2, Bytes(48, 0xEE));
  snp_only.platform(1, 2).page(0x1000, 1, 0, 0, testing::pattern_page(1));
  EXPECT_EQ(measure_igvm(parse(with_native.build()), {}, "x").digest,
            measure_igvm(parse(snp_only.build()), {}, "y").digest);
}

TEST(IgvmMeasure, ChecksTheIdBlock) {
  RawIgvm base;
  base.platform(1, 2).page(0x1000, 1, 0, 0, testing::pattern_page(1));
  const auto digest = measure_igvm(parse(base.build()), {}, "t.igvm").digest;

  RawIgvm matching = base;
  matching.id_block(1, digest);
  const IgvmMeasurement m = measure_igvm(parse(matching.build()), {}, "t.igvm");
  EXPECT_EQ(m.digest, digest);
  ASSERT_TRUE(m.id_block_digest.has_value());

  RawIgvm other = base;
  other.id_block(1, Bytes(48, 0xAB));
  try {
    measure_igvm(parse(other.build()), {}, "t.igvm");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("t.igvm: its SNP ID block vouches for launch digest abab"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("--ignore-idblock"), std::string::npos);
  }
  IgvmMeasureOptions ignore;
  ignore.ignore_id_block = true;
  EXPECT_EQ(measure_igvm(parse(other.build()), ignore, "t.igvm").digest, digest);

  RawIgvm two = base;
  two.id_block(1, digest).id_block(1, digest);
  EXPECT_THROW(measure_igvm(parse(two.build()), {}, "t.igvm"), InputError);
}

TEST(IgvmMeasure, SevAndSevEsHashThePageContents) {
  const Bytes vmsa = testing::pattern_page(9);
  RawIgvm f(2);
  f.platform(1, 5)
      .platform(2, 4)
      .page(0x1000, 3, 0, 0, testing::pattern_page(1))
      .page(0x2000, 3, 0, 0, std::nullopt)
      .page(0x3000, 1, 0, 0, testing::pattern_page(2))
      .vp_context(kVmsaGpa, 1, 0, vmsa)
      .vp_context(0, 2, 0, Bytes(4096, 0));
  const IgvmFile file = parse(f.build());
  IgvmMeasureOptions es;
  es.platform = IgvmPlatform::kSevEs;
  Bytes all = testing::pattern_page(1);
  const Bytes p2 = testing::pattern_page(2);
  all.insert(all.end(), p2.begin(), p2.end());
  all.insert(all.end(), vmsa.begin(), vmsa.end());
  const auto expected_es = testing::reference_sha256(all);
  EXPECT_EQ(measure_igvm(file, es, "t").digest, Bytes(expected_es.begin(), expected_es.end()));
  IgvmMeasureOptions sev;
  sev.platform = IgvmPlatform::kSev;
  const auto expected_sev = testing::reference_sha256(testing::pattern_page(1));
  EXPECT_EQ(measure_igvm(file, sev, "t").digest, Bytes(expected_sev.begin(), expected_sev.end()));
  try {
    measure_igvm(file, {}, "t.igvm");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "t.igvm: declares no sev-snp platform (it declares: sev-es, sev)");
  }
}

struct KvmCase {
  const char* what;
  std::function<void(RawIgvm&, Vmsa&)> change;  // adds the VMSA directive itself when needed
  const char* expected;
};

TEST(IgvmMeasure, CheckKvmRejectsWhatKvmWouldMeasureDifferently) {
  const std::vector<KvmCase> cases = {
      {"second VMSA",
       [](RawIgvm& f, Vmsa& v) {
         f.vp_context(kVmsaGpa, 1, 0, bytes_of(v)).vp_context(kVmsaGpa, 1, 1, bytes_of(v));
       },
       "header 2 (VP_CONTEXT): --check-kvm: a second VMSA"},
      {"vp index", [](RawIgvm& f, Vmsa& v) { f.vp_context(kVmsaGpa, 1, 1, bytes_of(v)); },
       "for vp_index 1, not the boot vCPU"},
      {"gpa", [](RawIgvm& f, Vmsa& v) { f.vp_context(0x1000, 1, 0, bytes_of(v)); },
       "VMSA gpa 0x1000 is not 0xfffffffff000"},
      {"cr0",
       [](RawIgvm& f, Vmsa& v) {
         v.cr0 = 0x11;
         f.vp_context(kVmsaGpa, 1, 0, bytes_of(v));
       },
       "VMSA cr0 0x11 is not 0x31 or 0x30"},
      {"cr4",
       [](RawIgvm& f, Vmsa& v) {
         v.cr4 = 0x20;
         f.vp_context(kVmsaGpa, 1, 0, bytes_of(v));
       },
       "lacks MCE"},
      {"efer",
       [](RawIgvm& f, Vmsa& v) {
         v.efer = 0;
         f.vp_context(kVmsaGpa, 1, 0, bytes_of(v));
       },
       "lacks SVME"},
      {"rflags",
       [](RawIgvm& f, Vmsa& v) {
         v.rflags = 0;
         f.vp_context(kVmsaGpa, 1, 0, bytes_of(v));
       },
       "rflags 0x0 lacks the reserved bit 1"},
      {"xcr0",
       [](RawIgvm& f, Vmsa& v) {
         v.xcr0 = 0;
         f.vp_context(kVmsaGpa, 1, 0, bytes_of(v));
       },
       "xcr0 0x0 lacks x87"},
      {"sev features",
       [](RawIgvm& f, Vmsa& v) {
         v.sev_features = 0x20;
         f.vp_context(kVmsaGpa, 1, 0, bytes_of(v));
       },
       "sev_features 0x20 lacks SNP"},
      {"field KVM ignores",
       [](RawIgvm& f, Vmsa& v) {
         v.guest_exit_code = 1;
         f.vp_context(kVmsaGpa, 1, 0, bytes_of(v));
       },
       "VMSA byte 0x3c0 is not zero"},
      {"vmpl",
       [](RawIgvm& f, Vmsa& v) {
         v.vmpl = 1;
         f.vp_context(kVmsaGpa, 1, 0, bytes_of(v));
       },
       "VMSA byte 0xca is not zero"},
      {"page after the VMSA",
       [](RawIgvm& f, Vmsa& v) {
         f.vp_context(kVmsaGpa, 1, 0, bytes_of(v)).page(0x5000, 1, 0, 0, std::nullopt);
       },
       "header 2 (PAGE_DATA): --check-kvm: page data after the VMSA"},
      {"insert after the VMSA",
       [](RawIgvm& f, Vmsa& v) {
         f.area(0x1000, 0).vp_context(kVmsaGpa, 1, 0, bytes_of(v)).insert(0x5000, 1, 0);
       },
       "header 3 (PARAMETER_INSERT): --check-kvm: parameter insert after the VMSA"},
  };
  for (const KvmCase& c : cases) {
    SCOPED_TRACE(c.what);
    RawIgvm f;
    f.platform(1, 2);
    Vmsa v = kvm_vmsa();
    c.change(f, v);
    const IgvmFile file = parse(f.build());
    EXPECT_NO_THROW(measure_igvm(file, {}, "t.igvm"));  // fine without --check-kvm
    IgvmMeasureOptions o;
    o.check_kvm = true;
    try {
      measure_igvm(file, o, "t.igvm");
      ADD_FAILURE() << "accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(c.expected), std::string::npos) << e.what();
      EXPECT_TRUE(std::string(e.what()).starts_with("t.igvm: header ")) << e.what();
    }
  }
}

TEST(IgvmMeasure, VmsaAtAnotherGpaIsMeasuredThereWithoutCheckKvm) {
  const Bytes vmsa = bytes_of(kvm_vmsa());
  RawIgvm f;
  f.platform(1, 2).vp_context(0x7000, 1, 0, vmsa);
  ReferenceChain ref;
  ref.page(0x7000, ReferenceChain::kVmsa, vmsa);
  EXPECT_EQ(digest48(measure_igvm(parse(f.build()), {}, "t").digest), ref.digest());
}

TEST(IgvmMeasure, ParsesPlatformNames) {
  EXPECT_EQ(parse_igvm_platform("sev-snp"), IgvmPlatform::kSevSnp);
  EXPECT_EQ(parse_igvm_platform("snp"), IgvmPlatform::kSevSnp);
  EXPECT_EQ(parse_igvm_platform("sev-es"), IgvmPlatform::kSevEs);
  EXPECT_EQ(parse_igvm_platform("sev"), IgvmPlatform::kSev);
  EXPECT_FALSE(parse_igvm_platform("tdx"));
  EXPECT_EQ(igvm_platform_name(IgvmPlatform::kSevEs), "sev-es");
}

}  // namespace
}  // namespace cvtpm::measure
