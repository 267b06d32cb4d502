// The guarded copies the SNP platform uses for guest memory (arch/x86_64/guarded_access.*), run
// on the host: the same assembly, and the same fix-up, applied from a SIGSEGV handler that plays
// the firmware's #VC handler (the fault a page that is not validated raises at VMPL0 is a #VC
// on SNP hardware; on the host, touching a PROT_NONE page raises SIGSEGV at the same
// instruction).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <cstring>

#include "arch/x86_64/guarded_access.h"

namespace cvtpm::fw::x86 {
namespace {

void on_segv(int, siginfo_t*, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  const std::uint64_t resume =
      guarded_fault_resume(static_cast<std::uint64_t>(uc->uc_mcontext.gregs[REG_RIP]));
  if (resume == 0) std::abort();  // a fault outside the guarded instructions
  uc->uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(resume);
}

class GuardedAccess : public ::testing::Test {
 protected:
  void SetUp() override {
    struct sigaction sa {};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    ASSERT_EQ(sigaction(SIGSEGV, &sa, &previous_), 0);
    page_ = mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(page_, MAP_FAILED);
    ASSERT_EQ(mprotect(static_cast<char*>(page_) + 4096, 4096, PROT_NONE), 0);
  }
  void TearDown() override {
    munmap(page_, 2 * 4096);
    sigaction(SIGSEGV, &previous_, nullptr);
  }
  std::uint8_t* readable() { return static_cast<std::uint8_t*>(page_); }
  std::uint8_t* faulting() { return static_cast<std::uint8_t*>(page_) + 4096; }

  void* page_ = nullptr;
  struct sigaction previous_ {};
};

TEST_F(GuardedAccess, CopiesAndExchangesWhereTheMemoryIsThere) {
  std::uint8_t bytes[16];
  for (int i = 0; i < 16; ++i) bytes[i] = static_cast<std::uint8_t>(i + 1);
  ASSERT_TRUE(fw_guarded_copy(readable() + 100, bytes, sizeof bytes));
  EXPECT_EQ(std::memcmp(readable() + 100, bytes, sizeof bytes), 0);
  std::uint8_t back[16] = {};
  ASSERT_TRUE(fw_guarded_copy(back, readable() + 100, sizeof back));
  EXPECT_EQ(std::memcmp(back, bytes, sizeof bytes), 0);
  std::uint8_t old = 0;
  ASSERT_TRUE(fw_guarded_exchange8(readable() + 100, 0xAB, &old));
  EXPECT_EQ(old, 1);
  EXPECT_EQ(readable()[100], 0xAB);
}

TEST_F(GuardedAccess, AFaultingAccessFailsInsteadOfStopping) {
  std::uint8_t bytes[64] = {};
  EXPECT_FALSE(fw_guarded_copy(bytes, faulting(), sizeof bytes));
  EXPECT_FALSE(fw_guarded_copy(faulting() + 8, bytes, sizeof bytes));
  // A copy that starts in good memory and runs into the faulting page stops there.
  EXPECT_FALSE(fw_guarded_copy(bytes, faulting() - 8, sizeof bytes));
  std::uint8_t old = 0x55;
  EXPECT_FALSE(fw_guarded_exchange8(faulting(), 1, &old));
  EXPECT_EQ(old, 0x55) << "nothing stored on failure";
}

TEST(GuardedAccessFixup, OnlyTheGuardedInstructionsAreFixedUp) {
  // Before the access, and elsewhere.
  EXPECT_EQ(guarded_fault_resume(reinterpret_cast<std::uint64_t>(&fw_guarded_copy)), 0u);
  EXPECT_EQ(guarded_fault_resume(reinterpret_cast<std::uint64_t>(&on_segv)), 0u);
}

}  // namespace
}  // namespace cvtpm::fw::x86
