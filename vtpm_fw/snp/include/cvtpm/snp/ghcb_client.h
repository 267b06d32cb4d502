// The guest side of the GHCB page protocol (formats/snp/ghcb.h) for one vCPU's GHCB: port I/O,
// MSR access, page state changes, SNP guest requests and AP creation. The page is shared with
// the hypervisor, which may rewrite it at any time: every output is read exactly once, checked
// against the valid bitmap, and only the local copy is used. Freestanding.
#pragma once

#include <cstdint>

#include "cvtpm/snp/hardware.h"
#include "cvtpm/snp/status.h"

namespace cvtpm::snp {

class GhcbClient {
 public:
  GhcbClient() = default;
  // `gpa`: a page already made shared, mapped without the C-bit and registered with the
  // hypervisor for this vCPU (the hardware object's).
  GhcbClient(SnpHardware& hardware, std::uint64_t gpa) : hardware_(&hardware), gpa_(gpa) {}

  bool bound() const { return hardware_ != nullptr; }
  std::uint64_t gpa() const { return gpa_; }
  // Whether an exchange is in progress, from filling the page to reading the answer. An
  // exception that arrives then must not use the page (ExceptionGate); a call made then fails.
  bool busy() const { return busy_; }
  SnpHardware& hardware() const { return *hardware_; }

  // Port I/O of 1, 2 or 4 bytes.
  SnpResult<std::uint32_t> io_in(std::uint16_t port, unsigned bytes);
  SnpStatus io_out(std::uint16_t port, unsigned bytes, std::uint32_t value);
  SnpResult<std::uint64_t> read_msr(std::uint32_t msr);
  SnpStatus write_msr(std::uint32_t msr, std::uint64_t value);
  struct Tsc {
    std::uint64_t value;
    std::uint32_t aux;  // RDTSCP only
  };
  SnpResult<Tsc> read_tsc(bool with_aux);

  // Asks the hypervisor to make [gpa, gpa + size) (page aligned) private or shared in the RMP,
  // with 2 MiB entries where the range allows and `use_2m` is set.
  SnpStatus page_state_change(std::uint64_t gpa, std::uint64_t size, Encryption state, bool use_2m);

  // Passes an encrypted guest message to the PSP: request and response are shared pages.
  // Returns sw_exit_info_2 (0 on success; formats::snp::guest_request_error otherwise).
  SnpResult<std::uint64_t> guest_request(std::uint64_t request_gpa, std::uint64_t response_gpa);

  // AP creation: registers the VMSA at vmsa_gpa for the vCPU apic_id at `vmpl`
  // (formats::snp::ap_creation request codes).
  SnpStatus ap_create(std::uint64_t request, std::uint32_t apic_id, std::uint8_t vmpl,
                      std::uint64_t vmsa_gpa, std::uint64_t sev_features);

 private:
  struct Exit {
    std::uint64_t info1;
    std::uint64_t info2;
  };
  class Page;
  SnpResult<Exit> exit(Page& page, std::uint64_t code, std::uint64_t info1, std::uint64_t info2);

  SnpHardware* hardware_ = nullptr;
  std::uint64_t gpa_ = 0;
  bool busy_ = false;
};

}  // namespace cvtpm::snp
