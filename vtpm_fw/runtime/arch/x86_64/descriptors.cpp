#include "arch/x86_64/descriptors.h"

#include <cstdint>

#include "arch/x86_64/stacks.h"

extern "C" std::uint64_t fw_gdt[5];
extern "C" const std::uint64_t fw_exception_stubs[32];
extern "C" void fw_timer_stub();
extern "C" void fw_spurious_stub();

namespace cvtpm::fw::x86 {

namespace {

constexpr std::uint16_t kCodeSelector = 0x08;
constexpr std::uint16_t kTssSelector = 0x18;

struct IdtGate {
  std::uint16_t offset_low;
  std::uint16_t selector;
  std::uint8_t ist;
  std::uint8_t type_attributes;
  std::uint16_t offset_mid;
  std::uint32_t offset_high;
  std::uint32_t reserved;
};
static_assert(sizeof(IdtGate) == 16);

TaskStateSegment g_tss;
IdtGate g_idt[256];

constexpr std::uint8_t kInterruptGatePresent = 0x8E;

void set_gate(int vector, std::uint64_t handler, int ist) {
  IdtGate& gate = g_idt[vector];
  gate.offset_low = static_cast<std::uint16_t>(handler);
  gate.selector = kCodeSelector;
  gate.ist = static_cast<std::uint8_t>(ist);
  gate.type_attributes = kInterruptGatePresent;
  gate.offset_mid = static_cast<std::uint16_t>(handler >> 16);
  gate.offset_high = static_cast<std::uint32_t>(handler >> 32);
}

}  // namespace

void install_descriptor_tables() {
  for (int i = 1; i <= kIstCount; ++i) g_tss.ist[i - 1] = stack(i).top;
  g_tss.io_map_base = sizeof(TaskStateSegment);  // no I/O bitmap

  const auto base = reinterpret_cast<std::uint64_t>(&g_tss);
  const std::uint64_t limit = sizeof(TaskStateSegment) - 1;
  // 64-bit available TSS (type 9), present.
  fw_gdt[3] = (limit & 0xFFFF) | ((base & 0xFF'FFFF) << 16) | (std::uint64_t{0x89} << 40) |
              (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
  fw_gdt[4] = base >> 32;
  asm volatile("ltr %0" : : "r"(kTssSelector));

  for (int vector = 0; vector < 32; ++vector) {
    set_gate(vector, fw_exception_stubs[vector], ist_for_vector(vector));
  }
  // The local-APIC timer and spurious vectors (local_apic.h). The other vectors stay
  // not-present: interrupts are enabled only while halted waiting for that timer, and a stray
  // one raises #GP (on IST6), which reports it.
  set_gate(0x20, reinterpret_cast<std::uint64_t>(&fw_timer_stub), 7);
  set_gate(0xFF, reinterpret_cast<std::uint64_t>(&fw_spurious_stub), 7);
  const TablePointer idt_pointer{sizeof g_idt - 1, reinterpret_cast<std::uint64_t>(g_idt)};
  asm volatile("lidt %0" : : "m"(idt_pointer));
}

}  // namespace cvtpm::fw::x86
