// Thin wrappers over the x86-64 instructions the runtime needs (port I/O, MSRs, control
// registers, CPUID, TSC, halting). Bare metal only.
#pragma once

#include <cstdint>

namespace cvtpm::fw::x86 {

inline void outb(std::uint16_t port, std::uint8_t value) {
  asm volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}
inline void outl(std::uint16_t port, std::uint32_t value) {
  asm volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}
inline std::uint8_t inb(std::uint16_t port) {
  std::uint8_t value;
  asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}

inline std::uint64_t rdmsr(std::uint32_t msr) {
  std::uint32_t lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return (std::uint64_t{hi} << 32) | lo;
}
inline void wrmsr(std::uint32_t msr, std::uint64_t value) {
  asm volatile("wrmsr"
               :
               : "c"(msr), "a"(static_cast<std::uint32_t>(value)),
                 "d"(static_cast<std::uint32_t>(value >> 32))
               : "memory");
}

inline constexpr std::uint32_t kMsrEfer = 0xC000'0080;
inline constexpr std::uint32_t kMsrFsBase = 0xC000'0100;
inline constexpr std::uint64_t kEferNxe = 1u << 11;

inline std::uint64_t read_cr0() {
  std::uint64_t v;
  asm volatile("mov %%cr0, %0" : "=r"(v));
  return v;
}
inline std::uint64_t read_cr2() {
  std::uint64_t v;
  asm volatile("mov %%cr2, %0" : "=r"(v));
  return v;
}
inline std::uint64_t read_cr3() {
  std::uint64_t v;
  asm volatile("mov %%cr3, %0" : "=r"(v));
  return v;
}
inline void write_cr3(std::uint64_t v) {
  asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}
inline std::uint64_t read_cr4() {
  std::uint64_t v;
  asm volatile("mov %%cr4, %0" : "=r"(v));
  return v;
}

struct CpuidResult {
  std::uint32_t eax, ebx, ecx, edx;
};
inline CpuidResult cpuid(std::uint32_t leaf, std::uint32_t subleaf = 0) {
  CpuidResult r;
  asm volatile("cpuid"
               : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
               : "a"(leaf), "c"(subleaf));
  return r;
}

inline std::uint64_t rdtsc() {
  std::uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (std::uint64_t{hi} << 32) | lo;
}

inline void pause() {
  asm volatile("pause");
}

inline std::uint64_t read_rbp() {
  std::uint64_t v;
  asm volatile("mov %%rbp, %0" : "=r"(v));
  return v;
}

[[noreturn]] inline void halt_forever() {
  for (;;) asm volatile("cli; hlt");
}

}  // namespace cvtpm::fw::x86
