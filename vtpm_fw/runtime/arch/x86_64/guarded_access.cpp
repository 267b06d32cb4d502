#include "arch/x86_64/guarded_access.h"

extern "C" char fw_guarded_copy_access[], fw_guarded_copy_access_end[], fw_guarded_copy_fault[];
extern "C" char fw_guarded_exchange8_access[], fw_guarded_exchange8_access_end[],
    fw_guarded_exchange8_fault[];

namespace cvtpm::fw::x86 {

namespace {

struct Fixup {
  const char* begin;
  const char* end;
  const char* resume;
};

const Fixup kFixups[] = {
    {fw_guarded_copy_access, fw_guarded_copy_access_end, fw_guarded_copy_fault},
    {fw_guarded_exchange8_access, fw_guarded_exchange8_access_end, fw_guarded_exchange8_fault},
};

}  // namespace

std::uint64_t guarded_fault_resume(std::uint64_t rip) {
  for (const Fixup& f : kFixups) {
    const auto begin = reinterpret_cast<std::uint64_t>(f.begin);
    const auto end = reinterpret_cast<std::uint64_t>(f.end);
    if (rip >= begin && rip < end) return reinterpret_cast<std::uint64_t>(f.resume);
  }
  return 0;
}

}  // namespace cvtpm::fw::x86
