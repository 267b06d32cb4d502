#include "cvtpm/measure/vcpu_types.h"

#include <array>

namespace cvtpm::measure {
namespace {

// Family/model/stepping as QEMU defines each model (target/i386/cpu.c); versions of one model
// share its signature.
constexpr std::array kModels = {
    CpuModel{"EPYC", 23, 1, 2},           CpuModel{"EPYC-v1", 23, 1, 2},
    CpuModel{"EPYC-v2", 23, 1, 2},        CpuModel{"EPYC-IBPB", 23, 1, 2},
    CpuModel{"EPYC-v3", 23, 1, 2},        CpuModel{"EPYC-v4", 23, 1, 2},
    CpuModel{"EPYC-v5", 23, 1, 2},        CpuModel{"EPYC-Rome", 23, 49, 0},
    CpuModel{"EPYC-Rome-v1", 23, 49, 0},  CpuModel{"EPYC-Rome-v2", 23, 49, 0},
    CpuModel{"EPYC-Rome-v3", 23, 49, 0},  CpuModel{"EPYC-Rome-v4", 23, 49, 0},
    CpuModel{"EPYC-Rome-v5", 23, 49, 0},  CpuModel{"EPYC-Milan", 25, 1, 1},
    CpuModel{"EPYC-Milan-v1", 25, 1, 1},  CpuModel{"EPYC-Milan-v2", 25, 1, 1},
    CpuModel{"EPYC-Milan-v3", 25, 1, 1},  CpuModel{"EPYC-Genoa", 25, 17, 0},
    CpuModel{"EPYC-Genoa-v1", 25, 17, 0}, CpuModel{"EPYC-Genoa-v2", 25, 17, 0},
    CpuModel{"EPYC-Turin", 26, 0, 0},     CpuModel{"EPYC-Turin-v1", 26, 0, 0},
};

}  // namespace

std::span<const CpuModel> known_cpu_models() {
  return kModels;
}

std::optional<CpuModel> find_cpu_model(std::string_view name) {
  for (const CpuModel& m : kModels) {
    if (m.name == name) return m;
  }
  return std::nullopt;
}

}  // namespace cvtpm::measure
