// Bookkeeping for self-test checks: one log line per check, a running pass/fail count.
#pragma once

#include "console/log.h"
#include "platform/native/native_vtpm.h"

namespace cvtpm::fw::selftest {

class Checks {
 public:
  // Records and logs a check result; returns `ok`.
  bool expect(bool ok, const char* name, const char* format, ...)
      __attribute__((format(printf, 4, 5)));
  bool expect(bool ok, const char* name) { return expect(ok, name, "%s", ""); }
  int passed() const { return passed_; }
  int failed() const { return failed_; }

 private:
  int passed_ = 0;
  int failed_ = 0;
};

bool run_runtime_checks(Checks& checks);
bool run_crypto_checks(Checks& checks);
bool run_provider_checks(Checks& checks);
bool run_tpm_checks(Checks& checks, native::NativeVtpm& vtpm);

}  // namespace cvtpm::fw::selftest
