// Page-table memory in the model's guest memory, for the firmware's own page-table code
// (arch/x86_64/page_tables.h): the fixture builds the final tables with it, the model's C-bit
// changes edit them. The model's walk (page_walk.h) reads them back with the RMP rules.
#pragma once

#include <cstdint>
#include <functional>

#include "arch/x86_64/page_tables.h"
#include "model/snp_machine.h"

namespace cvtpm::snp::model {

class ModelTableMemory final : public fw::x86::PageTableMemory {
 public:
  // `allocate`: a fresh firmware page for a table (0: none); empty: no new tables.
  ModelTableMemory(Machine& machine, std::function<std::uint64_t()> allocate)
      : machine_(machine), allocate_(std::move(allocate)) {}
  std::uint64_t allocate_table() override { return allocate_ ? allocate_() : 0; }
  std::uint64_t* table(std::uint64_t physical) override {
    return reinterpret_cast<std::uint64_t*>(machine_.raw(physical & ~std::uint64_t{0xFFF}));
  }

 private:
  Machine& machine_;
  std::function<std::uint64_t()> allocate_;
};

}  // namespace cvtpm::snp::model
