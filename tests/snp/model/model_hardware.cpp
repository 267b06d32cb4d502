#include "model/model_hardware.h"

namespace cvtpm::snp::model {

std::uint8_t* ModelHardware::map_at(std::uint64_t gpa, std::size_t size, Encryption encryption) {
  ++maps;
  std::uint8_t* p = machine_.access(gpa, size, vmpl_, encryption, true);
  if (p != nullptr) mapped_[p] = gpa;
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

bool ModelHardware::set_page_encryption_at(std::uint64_t gpa, Encryption encryption) {
  if (vmpl_ != 0) return false;
  machine_.set_firmware_mapping(gpa, encryption);
  return true;
}

PvalidateOutcome ModelHardware::pvalidate_at(std::uint64_t gpa, PageSize size, bool validate) {
  ++pvalidates;
  return machine_.pvalidate(vmpl_, gpa, size, validate);
}

std::uint32_t ModelHardware::rmpadjust_at(std::uint64_t gpa, PageSize size,
                                          std::uint64_t attributes) {
  ++rmpadjusts;
  return machine_.rmpadjust(vmpl_, gpa, size, attributes);
}

std::uint64_t ModelHardware::read_ghcb_msr() {
  return machine_.vcpu(apic_id_).ghcb_msr.at(vmpl_);
}

void ModelHardware::write_ghcb_msr(std::uint64_t value) {
  machine_.vcpu(apic_id_).ghcb_msr.at(vmpl_) = value;
}

void ModelHardware::vmgexit() {
  machine_.vmgexit(apic_id_, vmpl_);
}

std::uint64_t ModelHardware::read_sev_status() {
  return machine_.vmpl0_sev_features() << 2 | 0x3;  // SEV, SEV-ES, then the SEV features
}

std::uint64_t ModelHardware::read_cr4() {
  return machine_.vcpu(apic_id_).cr4;
}

}  // namespace cvtpm::snp::model
