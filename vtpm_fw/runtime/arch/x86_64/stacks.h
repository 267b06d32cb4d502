// The firmware's stacks, laid out by link.ld: the main stack and seven IST stacks, each with an
// unmapped guard page below it, so an overflow faults instead of overwriting its neighbour.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::fw::x86 {

struct Stack {
  const char* name;
  std::uint64_t bottom;  // lowest usable address; the guard page is the page below
  std::uint64_t top;     // initial stack pointer
};

inline constexpr int kIstCount = 7;

// 0: main stack; 1..7: IST1..IST7.
const Stack& stack(int index);
inline constexpr int kStackCount = 1 + kIstCount;

// The stack whose [bottom, top) holds `address`, or nullptr.
const Stack* stack_containing(std::uint64_t address);
// The stack whose guard page holds `address` (a stack overflow), or nullptr.
const Stack* stack_guarded_by(std::uint64_t address);

}  // namespace cvtpm::fw::x86
