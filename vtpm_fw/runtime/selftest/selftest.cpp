#include "selftest/selftest.h"

#include <cstdarg>

#include "libc/shim.h"
#include "selftest/check.h"

namespace cvtpm::fw::selftest {

bool Checks::expect(bool ok, const char* name, const char* format, ...) {
  char detail[200] = "";
  std::va_list args;
  va_start(args, format);
  libc::vsnprintf(detail, sizeof detail, format, args, nullptr);
  va_end(args);
  if (ok) {
    ++passed_;
    log::info("selftest: %-40s PASS%s%s", name, detail[0] != '\0' ? "  " : "", detail);
  } else {
    ++failed_;
    log::error("selftest: %-40s FAIL%s%s", name, detail[0] != '\0' ? "  " : "", detail);
  }
  return ok;
}

bool run(native::NativeVtpm& vtpm) {
  Checks checks;
  log::info("selftest: start");
  run_runtime_checks(checks);
  run_crypto_checks(checks);
  run_provider_checks(checks);
  run_tpm_checks(checks, vtpm);
  run_runtime_checks(checks);  // again: the libraries' allocations must leave the heap sound
  if (checks.failed() == 0) {
    log::info("selftest: PASSED (%d checks)", checks.passed());
    return true;
  }
  log::error("selftest: FAILED (%d of %d checks)", checks.failed(),
             checks.failed() + checks.passed());
  return false;
}

}  // namespace cvtpm::fw::selftest
