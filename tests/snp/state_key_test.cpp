// The persistent vTPM's root key under SNP (docs/persistence.md, "Keys"): MSG_KEY_REQ at VMPL0
// with the image's binding, against the model's PSP (whose rules cite their sources in
// model/psp_model.cpp). The seeds — hence the EK — a boot manufactures with the key are the same
// for the same image on the same chip and differ for another measurement, identity or chip; the
// guest OS cannot get VMPL0's key; the key is in no page outside VMPL0's private memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "cvtpm/formats/snp/guest_message.h"
#include "cvtpm/formats/snp/rmp_instructions.h"
#include "cvtpm/snp/guest_request.h"
#include "cvtpm/snp/state_key.h"
#include "cvtpm/state/persistent_state.h"
#include "memory_storage.h"
#include "snp_fixture.h"

namespace cvtpm::snp::testing {
namespace {

namespace fs = formats::snp;
namespace boot = formats::boot;
using Key = std::array<std::uint8_t, fs::kDerivedKeySize>;
using Bytes = std::vector<std::uint8_t>;

// The firmware's steps up to the VMPCK0 channel.
void prepare(SnpBoot& b) {
  ASSERT_TRUE(b.early());
  ASSERT_TRUE(b.accept());
  const SnpStatus s = b.prepare();
  ASSERT_TRUE(s) << s.error().what;
}

// The root key the firmware derives for its image's binding ("" when it got one).
std::string root_key(SnpBoot& b, Key& key) {
  const SnpStatus s = b.firmware().state_root_key(key);
  return s ? "" : s.error().what;
}

// The EK a fresh persistent TPM manufactures from `root` (PersistentState with empty storage).
Bytes ek_from(const Key& root, state::Binding binding) {
  release_shared_tpm();
  vtpm::host::HostAllocator allocator;
  vtpm::TpmEngine engine(allocator);
  state::testing::MemoryStorage storage;
  state::OpenSslRandom random;
  state::PersistentState persistent(allocator, storage, random);
  const auto started = persistent.start(engine, root, {binding, vtpm::EkAlgorithm::kEccP256});
  engine.set_state_sink(nullptr);
  if (!started) {
    ADD_FAILURE() << "PersistentState::start: " << state::describe(started.error().failure);
    return {};
  }
  return Bytes(engine.ek_public().begin(), engine.ek_public().end());
}

struct Derived {
  std::string error;  // "" on success
  Key key{};
};

Derived derive(const ImageOptions& options, const std::array<std::uint8_t, 48>* chip = nullptr) {
  SnpBoot b(options);
  if (chip != nullptr) b.machine().psp().set_chip_secret(*chip);
  prepare(b);
  Derived d;
  d.error = root_key(b, d.key);
  return d;
}

ImageOptions identity(std::uint32_t min_svn, std::uint8_t family, std::uint8_t image,
                      std::uint32_t svn, unsigned id_key = 0) {
  ImageOptions o;
  o.state_binding = boot::StateBinding::kIdentity;
  o.state_min_svn = min_svn;
  ImageOptions::IdBlock id;
  id.family_id.fill(family);
  id.image_id.fill(image);
  id.guest_svn = svn;
  id.id_key = id_key;
  o.id_block = id;
  return o;
}

// The request of each binding, field by field (docs/persistence.md, "Keys").
TEST(SnpStateKey, EachBindingAsksForItsFields) {
  boot::BootParams p{};
  p.state_binding = static_cast<std::uint32_t>(boot::StateBinding::kMeasurement);
  auto r = state_key_request(p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value().root_key_select, 0u);  // VCEK
  EXPECT_EQ(r.value().vmpl, 0u);
  EXPECT_EQ(r.value().guest_field_select, 0b01001u);  // policy (0) + measurement (3)
  EXPECT_EQ(r.value().guest_svn, 0u);
  EXPECT_EQ(r.value().tcb_version, 0u);

  p.state_binding = static_cast<std::uint32_t>(boot::StateBinding::kIdentity);
  p.state_min_svn = 5;
  r = state_key_request(p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value().guest_field_select, 0b10111u);  // policy, image ID, family ID, guest SVN
  EXPECT_EQ(r.value().guest_svn, 5u);
  EXPECT_EQ(r.value().vmpl, 0u);

  p.state_min_svn = 0;
  EXPECT_FALSE(state_key_request(p));
  p.state_binding = 1;  // development: never on SNP
  EXPECT_FALSE(state_key_request(p));
  p.state_binding = 0;
  EXPECT_FALSE(state_key_request(p));
}

TEST(SnpStateKey, TheSameImageOnTheSameChipGetsTheSameKeyAndTheSameEk) {
  const Derived a = derive({}), b = derive({});
  ASSERT_EQ(a.error, "");
  ASSERT_EQ(b.error, "");
  EXPECT_EQ(a.key, b.key);
  const Bytes ek_a = ek_from(a.key, state::Binding::kMeasurement);
  ASSERT_FALSE(ek_a.empty());
  EXPECT_EQ(ek_a, ek_from(b.key, state::Binding::kMeasurement));
}

TEST(SnpStateKey, AnotherMeasurementGetsAnotherKeyAndEk) {
  const Derived base = derive({});
  ASSERT_EQ(base.error, "");
  ImageOptions other_ovmf;
  other_ovmf.ovmf_pages = 5;  // other guest firmware bytes
  ImageOptions other_parameter;
  other_parameter.guest_vmpl = 3;  // another measured boot parameter
  ImageOptions other_binding;
  other_binding.ek = formats::boot::EkAlgorithm::kRsa2048;
  for (const ImageOptions& o : {other_ovmf, other_parameter, other_binding}) {
    const Derived d = derive(o);
    ASSERT_EQ(d.error, "");
    EXPECT_NE(d.key, base.key);
  }
  const Derived other = derive(other_ovmf);
  EXPECT_NE(ek_from(other.key, state::Binding::kMeasurement),
            ek_from(base.key, state::Binding::kMeasurement));
}

TEST(SnpStateKey, AnotherChipGetsAnotherKey) {
  std::array<std::uint8_t, 48> chip{};
  chip.fill(0xC1);
  const Derived base = derive({}), other = derive({}, &chip), again = derive({}, &chip);
  ASSERT_EQ(other.error, "");
  EXPECT_NE(other.key, base.key);
  EXPECT_EQ(other.key, again.key);
  EXPECT_NE(ek_from(other.key, state::Binding::kMeasurement),
            ek_from(base.key, state::Binding::kMeasurement));
}

TEST(SnpStateKey, IdentityBindingSurvivesAnImageUpdateOfTheSameFamilyAndImage) {
  const Derived v3 = derive(identity(2, 0xF1, 0x11, 3));
  ASSERT_EQ(v3.error, "");
  // Another measurement (other OVMF bytes), signed into the same family and image, SVN >= 2.
  ImageOptions update = identity(2, 0xF1, 0x11, 4);
  update.ovmf_pages = 5;
  const Derived v4 = derive(update);
  ASSERT_EQ(v4.error, "");
  EXPECT_EQ(v4.key, v3.key);
  EXPECT_EQ(ek_from(v4.key, state::Binding::kIdentity), ek_from(v3.key, state::Binding::kIdentity));
  // The measurement binding of the same two images does not survive the update.
  ImageOptions m3 = identity(2, 0xF1, 0x11, 3), m4 = update;
  m3.state_binding = m4.state_binding = boot::StateBinding::kMeasurement;
  EXPECT_NE(derive(m3).key, derive(m4).key);
}

TEST(SnpStateKey, IdentityBindingDiffersForAnotherFamilyImageOrMinimumSvn) {
  const Derived base = derive(identity(2, 0xF1, 0x11, 3));
  ASSERT_EQ(base.error, "");
  for (const ImageOptions& o :
       {identity(2, 0xF2, 0x11, 3), identity(2, 0xF1, 0x12, 3), identity(3, 0xF1, 0x11, 3)}) {
    const Derived d = derive(o);
    ASSERT_EQ(d.error, "");
    EXPECT_NE(d.key, base.key);
  }
}

// The ID key and author key are in no GUEST_FIELD_SELECT bit; whether the PSP mixes their digests
// in is UNKNOWN (docs/persistence.md, "Identity binding caveat"). The model does not: another ID
// key signing the same family and image IDs gets the same key there.
TEST(SnpStateKey, IdentityBindingCaveatTheModelDoesNotMixTheIdKey) {
  const Derived a = derive(identity(2, 0xF1, 0x11, 3, 0));
  const Derived b = derive(identity(2, 0xF1, 0x11, 3, 1));
  ASSERT_EQ(a.error, "");
  EXPECT_EQ(a.key, b.key);
}

TEST(SnpStateKey, IdentityBindingFailsClosedBelowTheMinimumSvnOrWithoutAnIdBlock) {
  const Derived old = derive(identity(2, 0xF1, 0x11, 1));  // signed with SVN 1 < minimum 2
  EXPECT_EQ(old.error, "MSG_KEY_REQ refused: invalid parameters (status 0x16)");
  EXPECT_EQ(old.key, Key{});
  ImageOptions unsigned_image = identity(1, 0, 0, 0);
  unsigned_image.id_block.reset();  // guest SVN 0 at launch
  const Derived none = derive(unsigned_image);
  EXPECT_EQ(none.error, "MSG_KEY_REQ refused: invalid parameters (status 0x16)");
}

TEST(SnpStateKey, AFailedGuestRequestIsAnError) {
  SnpBoot b;
  prepare(b);
  b.machine().hypervisor().guest_request_drop = true;
  Key key{};
  EXPECT_EQ(root_key(b, key), std::string("guest request: failed"));
  EXPECT_EQ(key, Key{});
}

// A channel with another VMPL's key, on the firmware's shared pages: what that VMPL's software
// (the guest OS at VMPL2 with the VMPCK2 of its secrets page) sends the PSP.
class OtherVmplChannel {
 public:
  OtherVmplChannel(SnpBoot& b, std::uint8_t vmpl) : b_(b) {
    channel_.init(b.machine().psp().vmpck(vmpl), vmpl, b.firmware().request_page_gpa(),
                  b.firmware().response_page_gpa());
  }
  SnpStatus request(const fs::KeyRequest& r, Key& key) {
    return request_derived_key(channel_, b_.firmware().ghcb(), r, key);
  }

 private:
  SnpBoot& b_;
  GuestRequestChannel channel_;
};

TEST(SnpStateKey, TheGuestOsCannotGetVmpl0sKey) {
  SnpBoot b;
  prepare(b);
  Key vmpl0{};
  ASSERT_EQ(root_key(b, vmpl0), "");
  const fs::KeyRequest vmpl0_request = state_key_request(b.params()).value();
  OtherVmplChannel guest(b, 2);
  Key key{};
  const SnpStatus refused = guest.request(vmpl0_request, key);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().value1, 0x16u);
  EXPECT_EQ(key, Key{});
  for (std::uint32_t vmpl : {1u}) {  // also not VMPL1's, which is more privileged than VMPL2
    fs::KeyRequest r = vmpl0_request;
    r.vmpl = vmpl;
    EXPECT_FALSE(guest.request(r, key));
  }
  // Its own VMPL's key, with the same fields, is another key.
  fs::KeyRequest own = vmpl0_request;
  own.vmpl = 2;
  ASSERT_TRUE(guest.request(own, key));
  EXPECT_NE(key, vmpl0);
  own.vmpl = 3;
  Key vmpl3{};
  ASSERT_TRUE(guest.request(own, vmpl3));
  EXPECT_NE(vmpl3, key);
}

// The PSP's parameter checks (model/psp_model.cpp cites each): every refusal is status 0x16.
TEST(SnpStateKey, ThePspRefusesInvalidParameters) {
  SnpBoot b(identity(2, 0xF1, 0x11, 3));
  prepare(b);
  GuestRequestChannel& channel = b.firmware().platform().guest_requests();
  const fs::KeyRequest good = state_key_request(b.params()).value();
  Key key{};
  ASSERT_TRUE(request_derived_key(channel, b.firmware().ghcb(), good, key));
  auto refused = [&](fs::KeyRequest r) {
    Key k{};
    const SnpStatus s = request_derived_key(channel, b.firmware().ghcb(), r, k);
    return !s && s.error().value1 == 0x16 && k == Key{};
  };
  fs::KeyRequest r = good;
  r.guest_svn = 4;  // above the launch's 3
  EXPECT_TRUE(refused(r));
  r.guest_svn = 3;  // equal: allowed
  EXPECT_FALSE(refused(r));
  r = good;
  r.guest_field_select |= 1ULL << 6;  // LAUNCH_MIT_VECTOR exists only in message version 2
  EXPECT_TRUE(refused(r));
  r = good;
  r.guest_field_select |= 1ULL << 63;
  EXPECT_TRUE(refused(r));
  r = good;
  r.reserved = 1;
  EXPECT_TRUE(refused(r));
  r = good;
  r.root_key_select = 2;
  EXPECT_TRUE(refused(r));
  r = good;
  r.vmpl = 4;
  EXPECT_TRUE(refused(r));
  r = good;
  r.guest_field_select |= fs::key_field::kTcbVersion;
  r.tcb_version = 0x1B00'0000'0000'0004ULL;  // bootloader SVN above the committed 3
  EXPECT_TRUE(refused(r));
  r.tcb_version = 0x1B00'0000'0000'0003ULL;  // the committed TCB itself
  EXPECT_FALSE(refused(r));
  EXPECT_TRUE(channel.usable()) << "refusals are answers: the channel stays in step";
}

// The key reaches only the caller's buffer: no page the guest VMPLs can read, and no shared page
// (the hypervisor's view), holds it after the derivation and a persistent TPM's first write.
TEST(SnpStateKey, TheKeyIsInNoPageOutsideVmpl0) {
  SnpBoot b;
  prepare(b);
  Key key{};
  ASSERT_EQ(root_key(b, key), "");
  ASSERT_FALSE(ek_from(key, state::Binding::kMeasurement).empty());
  Machine& m = b.machine();
  std::size_t scanned = 0;
  for (std::uint64_t page : m.pages()) {
    const model::RmpEntry& e = m.rmp(page);
    bool readable = !e.assigned;
    for (std::uint8_t v = 1; v <= 3; ++v) {
      readable |= (e.permissions[v] & fs::vmpl_permission::kRead) != 0;
    }
    if (!readable) continue;
    ++scanned;
    const std::uint8_t* bytes = m.raw(page);
    EXPECT_EQ(std::search(bytes, bytes + 4096, key.begin(), key.end()), bytes + 4096)
        << "the state root key is readable outside VMPL0 in page 0x" << std::hex << page;
  }
  EXPECT_GT(scanned, 2u);  // at least the two shared guest-request pages
  EXPECT_EQ(m.psp().keys_derived(), 1u);
}

}  // namespace
}  // namespace cvtpm::snp::testing
