#include "selftest/fault_injection.h"

#include <cstdint>
#include <cstdlib>

#include "libc/shim.h"

namespace cvtpm::fw::selftest {

namespace {

// Far above the identity map (which ends at 4 GiB or the top of RAM): not present.
constexpr std::uint64_t kUnmappedAddress = std::uint64_t{256} << 30;

__attribute__((noinline)) std::uint64_t recurse(std::uint64_t depth) {
  volatile char frame[1024];
  if (depth == ~std::uint64_t{0}) return 0;  // never: keeps the compiler from calling it infinite
  frame[0] = static_cast<char>(depth);
  frame[sizeof frame - 1] = static_cast<char>(depth);
  return recurse(depth + 1) + static_cast<std::uint64_t>(frame[0] + frame[sizeof frame - 1]);
}

__attribute__((noinline)) void smash_canary(std::size_t length) {
  char buffer[16];
  volatile std::size_t n = length;
  libc::memset(buffer, 'A', n);  // writes past buffer into the canary
  asm volatile("" : : "r"(buffer) : "memory");
}

}  // namespace

const char* fault_name(native::FaultTest fault) {
  switch (fault) {
    case native::FaultTest::kPageFault:
      return "page fault (unmapped address)";
    case native::FaultTest::kNullPointer:
      return "NULL pointer read";
    case native::FaultTest::kDivideError:
      return "divide by zero";
    case native::FaultTest::kInvalidOpcode:
      return "invalid opcode (ud2)";
    case native::FaultTest::kStackOverflow:
      return "stack overflow into the guard page";
    case native::FaultTest::kWriteToCode:
      return "write to read-only code";
    case native::FaultTest::kStackSmash:
      return "stack buffer overflow over the canary";
    case native::FaultTest::kAbort:
      return "abort()";
    case native::FaultTest::kNone:
      break;
  }
  return "none";
}

void trigger_fault(native::FaultTest fault) {
  switch (fault) {
    case native::FaultTest::kPageFault:
      (void)*reinterpret_cast<volatile std::uint64_t*>(kUnmappedAddress);
      break;
    case native::FaultTest::kNullPointer: {
      volatile std::uint64_t address = 0;
      (void)*reinterpret_cast<volatile std::uint64_t*>(address);
      break;
    }
    case native::FaultTest::kDivideError: {
      std::uint32_t quotient = 1;
      std::uint32_t divisor = 0;
      asm volatile("xor %%edx, %%edx; divl %1" : "+a"(quotient) : "r"(divisor) : "rdx");
      break;
    }
    case native::FaultTest::kInvalidOpcode:
      asm volatile("ud2");
      break;
    case native::FaultTest::kStackOverflow:
      (void)recurse(0);
      break;
    case native::FaultTest::kWriteToCode:
      *reinterpret_cast<volatile std::uint8_t*>(reinterpret_cast<std::uintptr_t>(&trigger_fault)) =
          0xC3;
      break;
    case native::FaultTest::kStackSmash:
      smash_canary(64);
      break;
    case native::FaultTest::kAbort:
      std::abort();
    case native::FaultTest::kNone:
      break;
  }
}

}  // namespace cvtpm::fw::selftest
