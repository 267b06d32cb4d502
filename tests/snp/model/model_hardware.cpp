#include "model/model_hardware.h"

#include <cstring>
#include <utility>

#include "model/model_table_memory.h"

namespace cvtpm::snp::model {

std::uint8_t* ModelHardware::map_at(std::uint64_t linear, std::size_t size, Encryption encryption) {
  ++maps;
  std::uint8_t* p = vmpl_ == 0 ? machine_.vmpl0_access(apic_id_, linear, size, encryption, true)
                               : machine_.access(linear, size, vmpl_, encryption, true);
  if (p != nullptr)
    mapped_[p] = vmpl_ == 0 ? machine_.translate(apic_id_, linear, false).gpa : linear;
  return p;
}

void ModelHardware::unmap(std::uint8_t* mapping, std::size_t size) {
  auto it = mapped_.find(mapping);
  if (it == mapped_.end()) {
    machine_.record_fault("unmap of something not mapped");
    return;
  }
  const std::uint64_t gpa = it->second;
  mapped_.erase(it);
  if (after_access) after_access(gpa, size);
}

bool ModelHardware::set_page_encryption_at(std::uint64_t linear, Encryption encryption) {
  if (vmpl_ != 0) return false;
  const std::uint64_t cr3 = machine_.vcpu(apic_id_).cr3;
  if (cr3 == 0) {
    machine_.set_boot_mapping(linear, encryption);
    return true;
  }
  // The firmware's own page-table code on the tables in model memory (as page_encryption.cpp
  // runs it on the live tables).
  ModelTableMemory memory(machine_, nullptr);
  bool split = false;
  return fw::x86::set_leaf_encryption(memory, cr3, linear, encryption == Encryption::kPrivate,
                                      std::uint64_t{1} << machine_.config().cbit, 0, split);
}

PvalidateOutcome ModelHardware::pvalidate_at(std::uint64_t linear, PageSize size, bool validate) {
  ++pvalidates;
  return vmpl_ == 0 ? machine_.vmpl0_pvalidate(apic_id_, linear, size, validate)
                    : machine_.pvalidate(vmpl_, linear, size, validate);
}

std::uint32_t ModelHardware::rmpadjust_at(std::uint64_t linear, PageSize size,
                                          std::uint64_t attributes) {
  ++rmpadjusts;
  return vmpl_ == 0 ? machine_.vmpl0_rmpadjust(apic_id_, linear, size, attributes)
                    : machine_.rmpadjust(vmpl_, linear, size, attributes);
}

std::uint8_t* ModelHardware::guarded(std::uint64_t linear, std::size_t size, bool write) {
  ++maps;
  return vmpl_ == 0 ? machine_.vmpl0_guarded(apic_id_, linear, size, write)
                    : machine_.access(linear, size, vmpl_, Encryption::kPrivate, write);
}

void ModelHardware::after(std::uint64_t linear, std::size_t size) {
  if (!after_access) return;
  after_access(vmpl_ == 0 ? machine_.translate(apic_id_, linear, false).gpa : linear, size);
}

bool ModelHardware::read_guarded_at(std::uint64_t linear, void* out, std::size_t size) {
  const std::uint8_t* p = guarded(linear, size, false);
  if (p == nullptr) return false;
  std::memcpy(out, p, size);
  after(linear, size);
  return true;
}

bool ModelHardware::write_guarded_at(std::uint64_t linear, const void* in, std::size_t size) {
  std::uint8_t* p = guarded(linear, size, true);
  if (p == nullptr) return false;
  std::memcpy(p, in, size);
  after(linear, size);
  return true;
}

bool ModelHardware::exchange_guarded_at(std::uint64_t linear, std::uint8_t value,
                                        std::uint8_t& old) {
  std::uint8_t* p = guarded(linear, 1, true);
  if (p == nullptr) return false;
  old = std::exchange(*p, value);
  after(linear, 1);
  return true;
}

std::uint64_t ModelHardware::read_ghcb_msr() {
  return machine_.vcpu(apic_id_).ghcb_msr.at(vmpl_);
}

void ModelHardware::write_ghcb_msr(std::uint64_t value) {
  machine_.vcpu(apic_id_).ghcb_msr.at(vmpl_) = value;
}

void ModelHardware::vmgexit() {
  machine_.vmgexit(apic_id_, vmpl_);
  if (vmpl_ != 0) return;
  // The VMRUN that resumes VMPL0 delivers what the hypervisor injects, before the instruction
  // after VMGEXIT runs.
  if (auto injection = machine_.take_injection(apic_id_)) {
    if (exception_entry) {
      exception_entry(*injection);
    } else {
      machine_.record_fault("an injected exception (vector " + std::to_string(injection->vector) +
                            ") with no IDT entry to take it");
    }
  }
}

std::uint64_t ModelHardware::read_sev_status() {
  return machine_.vmpl0_sev_features() << 2 | 0x3;  // SEV, SEV-ES, then the SEV features
}

std::uint64_t ModelHardware::read_cr4() {
  return machine_.vcpu(apic_id_).cr4;
}

}  // namespace cvtpm::snp::model
