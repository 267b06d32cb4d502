// libtpms is linked for TPM 2.0 only. Its library layer (tpm_library.o) dispatches through one
// function table per TPM version; referencing TPM12Interface would pull in the whole TPM 1.2
// implementation (about 470 KiB of code the firmware never runs, all of it measured into the SNP
// launch digest). Defining the table here keeps the archive's TPM 1.2 members out of the link;
// every entry panics, so choosing TPM 1.2 fails loudly. The table's size must equal libtpms's
// struct tpm_interface: CMake reads the size of TPM12Interface from libtpms.a at configure time
// (CVTPM_LIBTPMS_INTERFACE_SIZE) and fails if the symbol is gone; if a libtpms update makes a
// TPM 1.2 member needed for another reason, the link fails with a duplicate TPM12Interface.
#include <cstddef>

#include "panic/panic.h"

#ifndef CVTPM_LIBTPMS_INTERFACE_SIZE
#error \
    "CVTPM_LIBTPMS_INTERFACE_SIZE must be set from libtpms.a (see vtpm_fw/runtime/CMakeLists.txt)"
#endif

namespace {

using Entry = void (*)();
constexpr std::size_t kEntries = CVTPM_LIBTPMS_INTERFACE_SIZE / sizeof(Entry);
static_assert(CVTPM_LIBTPMS_INTERFACE_SIZE % sizeof(Entry) == 0 && kEntries > 0,
              "struct tpm_interface should be a table of function pointers");

[[noreturn]] void tpm12_not_linked() {
  cvtpm::fw::panic("libtpms: TPM 1.2 is not linked into cvtpm-fw (TPM 2.0 only)");
}

struct Table {
  Entry entries[kEntries];
};

constexpr Table make_table() {
  Table t{};
  for (Entry& e : t.entries) e = tpm12_not_linked;
  return t;
}

}  // namespace

extern "C" {
extern const Table TPM12Interface;
const Table TPM12Interface = make_table();
}
