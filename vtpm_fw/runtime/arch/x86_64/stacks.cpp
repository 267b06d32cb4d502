#include "arch/x86_64/stacks.h"

extern "C" char __stacks_start[], __main_stack_bottom[], __main_stack_top[], __ist_stacks_start[];

namespace cvtpm::fw::x86 {

namespace {

constexpr std::uint64_t kGuard = 4096;
constexpr std::uint64_t kIstSize = 16 * 1024;  // IST_STACK_SIZE in link.ld

constexpr const char* kNames[kStackCount] = {
    "main",       "IST1 (#DF, #MC)", "IST2 (NMI)",      "IST3 (#HV)",
    "IST4 (#PF)", "IST5 (#VC)",      "IST6 (#GP, #SS)", "IST7 (other exceptions)"};

Stack g_stacks[kStackCount];
bool g_ready = false;

void compute() {
  g_stacks[0] = {kNames[0], reinterpret_cast<std::uint64_t>(__main_stack_bottom),
                 reinterpret_cast<std::uint64_t>(__main_stack_top)};
  const auto ist_base = reinterpret_cast<std::uint64_t>(__ist_stacks_start);
  for (int i = 1; i < kStackCount; ++i) {
    const std::uint64_t bottom =
        ist_base + static_cast<std::uint64_t>(i - 1) * (kGuard + kIstSize) + kGuard;
    g_stacks[i] = {kNames[i], bottom, bottom + kIstSize};
  }
  g_ready = true;
}

}  // namespace

const Stack& stack(int index) {
  if (!g_ready) compute();
  return g_stacks[index];
}

const Stack* stack_containing(std::uint64_t address) {
  for (int i = 0; i < kStackCount; ++i) {
    const Stack& s = stack(i);
    if (address >= s.bottom && address < s.top) return &s;
  }
  return nullptr;
}

const Stack* stack_guarded_by(std::uint64_t address) {
  for (int i = 0; i < kStackCount; ++i) {
    const Stack& s = stack(i);
    if (address >= s.bottom - kGuard && address < s.bottom) return &s;
  }
  return nullptr;
}

}  // namespace cvtpm::fw::x86
