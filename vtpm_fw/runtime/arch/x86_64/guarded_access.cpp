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

bool fix_up_guarded_access(ExceptionFrame& frame) {
  for (const Fixup& f : kFixups) {
    const auto begin = reinterpret_cast<std::uint64_t>(f.begin);
    const auto end = reinterpret_cast<std::uint64_t>(f.end);
    if (frame.rip >= begin && frame.rip < end) {
      frame.rip = reinterpret_cast<std::uint64_t>(f.resume);
      return true;
    }
  }
  return false;
}

}  // namespace cvtpm::fw::x86
