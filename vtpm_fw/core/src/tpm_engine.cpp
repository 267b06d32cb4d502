#include "cvtpm/vtpm/tpm_engine.h"

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_memory.h>
#include <libtpms/tpm_nvfilename.h>
#include <libtpms/tpm_types.h>

#include <cstring>

#include "cvtpm/vtpm/tpm2_wire.h"

namespace cvtpm::vtpm {
namespace {

// The engine libtpms' callbacks serve (libtpms passes no user pointer).
TpmEngine* g_active = nullptr;

constexpr std::size_t kNvAlignment = 16;
constexpr std::uint32_t kNvGranule = 4096;  // NV blobs grow in steps of this, to limit copying

bool same_name(const char* a, const char* b) {
  return std::strcmp(a, b) == 0;
}

}  // namespace

const char* describe(EngineFailure failure) {
  switch (failure) {
    case EngineFailure::kInUse:
      return "libtpms is already in use by another TPM engine";
    case EngineFailure::kNotManufactured:
      return "the TPM has not been manufactured";
    case EngineFailure::kLibtpms:
      return "a libtpms call failed";
    case EngineFailure::kBufferSize:
      return "libtpms refused the vTPM buffer size";
    case EngineFailure::kEkCreation:
      return "computing the endorsement key failed";
    case EngineFailure::kPoweredOff:
      return "the TPM is powered off";
    case EngineFailure::kResponseTooLarge:
      return "the TPM response does not fit the vTPM buffer";
    case EngineFailure::kBadState:
      return "the saved TPM state is empty or its EK is invalid";
    case EngineFailure::kPersistenceFailed:
      return "writing the TPM's state to storage failed; the TPM stays failed until reboot";
  }
  return "unknown engine failure";
}

TpmEngine::TpmEngine(Allocator& allocator)
    : allocator_(allocator),
      blobs_{{TPM_PERMANENT_ALL_NAME, nullptr, 0, 0},
             {TPM_VOLATILESTATE_NAME, nullptr, 0, 0},
             {TPM_SAVESTATE_NAME, nullptr, 0, 0}} {}

TpmEngine::~TpmEngine() {
  power_off();
  clear_nv();
  if (response_ != nullptr) TPM_Free(response_);
}

std::size_t TpmEngine::nv_bytes() const {
  std::size_t total = 0;
  for (const NvBlob& b : blobs_) total += b.size;
  return total;
}

std::span<const std::uint8_t> TpmEngine::permanent_state() const {
  for (const NvBlob& b : blobs_) {
    if (same_name(b.name, TPM_PERMANENT_ALL_NAME)) return {b.data, b.size};
  }
  return {};
}

void TpmEngine::clear_nv() {
  for (NvBlob& b : blobs_) {
    if (b.data != nullptr) allocator_.deallocate(b.data, b.capacity, kNvAlignment);
    b.data = nullptr;
    b.size = 0;
    b.capacity = 0;
  }
}

Status<EngineError> TpmEngine::manufacture(const EngineConfig& config) {
  if (g_active != nullptr && g_active != this) return EngineError{EngineFailure::kInUse, 0};
  power_off();
  clear_nv();  // no NV state: TPMLIB_MainInit manufactures (loaddata answers TPM_RETRY)
  manufactured_ = true;
  ek_public_size_ = 0;
  if (Status<EngineError> s = power_on(); !s) {
    manufactured_ = false;
    return s;
  }
  if (Status<EngineError> s = compute_ek(config.ek_algorithm); !s) {
    power_off();
    clear_nv();
    manufactured_ = false;
    ek_public_size_ = 0;
    return s;
  }
  return Status<EngineError>::success();
}

Status<EngineError> TpmEngine::restore(const SavedTpm& saved) {
  if (g_active != nullptr && g_active != this) return EngineError{EngineFailure::kInUse, 0};
  if (saved.permanent.empty() || saved.permanent.size() > UINT32_MAX || saved.ek_public.empty() ||
      saved.ek_public.size() > kMaxEkPublicSize) {
    return EngineError{EngineFailure::kBadState, 0};
  }
  power_off();
  clear_nv();
  NvBlob* permanent = blob(TPM_PERMANENT_ALL_NAME);
  if (!store_blob(*permanent, saved.permanent.data(),
                  static_cast<std::uint32_t>(saved.permanent.size()))) {
    return EngineError{EngineFailure::kLibtpms, TPM_FAIL};
  }
  manufactured_ = true;
  std::memcpy(ek_public_, saved.ek_public.data(), saved.ek_public.size());
  ek_public_size_ = saved.ek_public.size();
  ek_algorithm_ = saved.ek_algorithm;
  if (Status<EngineError> s = power_on(); !s) {
    clear_nv();
    manufactured_ = false;
    ek_public_size_ = 0;
    return s;
  }
  return Status<EngineError>::success();
}

Status<EngineError> TpmEngine::power_on() {
  if (!manufactured_) return EngineError{EngineFailure::kNotManufactured, 0};
  if (persistence_failed_) return EngineError{EngineFailure::kPersistenceFailed, 0};
  if (g_active != nullptr && g_active != this) return EngineError{EngineFailure::kInUse, 0};
  power_off();

  static libtpms_callbacks callbacks = {
      sizeof(libtpms_callbacks), &nv_init, &nv_load, &nv_store, &nv_delete, &io_init, &io_locality,
      &io_physical_presence,
  };
  g_active = this;
  TPM_RESULT rc = TPMLIB_ChooseTPMVersion(TPMLIB_TPM_VERSION_2);
  if (rc == TPM_SUCCESS) rc = TPMLIB_RegisterCallbacks(&callbacks);
  if (rc != TPM_SUCCESS) {
    g_active = nullptr;
    return EngineError{EngineFailure::kLibtpms, rc};
  }
  std::uint32_t min_size = 0;
  std::uint32_t max_size = 0;
  const std::uint32_t chosen = TPMLIB_SetBufferSize(kBufferSize, &min_size, &max_size);
  if (chosen != kBufferSize) {
    g_active = nullptr;
    return EngineError{EngineFailure::kBufferSize, chosen};
  }
  rc = TPMLIB_MainInit();
  if (rc != TPM_SUCCESS) {
    TPMLIB_Terminate();
    g_active = nullptr;
    return EngineError{EngineFailure::kLibtpms, rc};
  }
  locality_ = 0;
  powered_ = true;
  return Status<EngineError>::success();
}

void TpmEngine::power_off() {
  if (!powered_) return;
  TPMLIB_Terminate();
  powered_ = false;
  g_active = nullptr;
}

Result<std::span<const std::uint8_t>, EngineError> TpmEngine::execute(
    std::span<std::uint8_t> command, std::uint8_t locality) {
  if (!powered_) return EngineError{EngineFailure::kPoweredOff, 0};
  if (persistence_failed_) return EngineError{EngineFailure::kPersistenceFailed, 0};
  locality_ = locality;
  std::uint32_t response_size = 0;
  const TPM_RESULT rc = TPMLIB_Process(&response_, &response_size, &response_capacity_,
                                       command.data(), static_cast<std::uint32_t>(command.size()));
  ++commands_executed_;
  locality_ = 0;
  if (rc != TPM_SUCCESS) return EngineError{EngineFailure::kLibtpms, rc};
  if (response_size > kMaxTpmResponseSize) {
    return EngineError{EngineFailure::kResponseTooLarge, response_size};
  }
  return std::span<const std::uint8_t>(response_, response_size);
}

Result<std::span<const std::uint8_t>, EngineError> TpmEngine::run_internal(
    std::span<std::uint8_t> command) {
  auto response = execute(command, 0);
  if (!response) return response;
  const std::uint32_t rc = tpm2::response_code(response.value());
  if (rc != tpm2::kRcSuccess) return EngineError{EngineFailure::kEkCreation, rc};
  return response;
}

// The EK is a primary key: TPM2_CreatePrimary derives it from the endorsement seed and the
// template, so computing it once at manufacture gives the same key the guest gets from the same
// template later (tpm2_createek), without depending on the guest's hierarchy authorizations,
// free object slots or whether it has started the TPM. The TPM is power-cycled afterwards, so
// the guest still finds it waiting for TPM2_Startup.
Status<EngineError> TpmEngine::compute_ek(EkAlgorithm algorithm) {
  std::uint8_t startup[12];
  {
    tpm2::Writer w(startup);
    w.u16(tpm2::kStNoSessions);
    w.u32(sizeof startup);
    w.u32(tpm2::kCcStartup);
    w.u16(tpm2::kSuClear);
  }
  if (auto r = run_internal(startup); !r) return r.error();

  std::uint8_t create[kMaxEkPublicSize + 64];
  const std::size_t create_size = marshal_create_ek_command(algorithm, create);
  if (create_size == 0) return EngineError{EngineFailure::kEkCreation, tpm2::kRcFailure};
  auto created = run_internal({create, create_size});
  if (!created) return created.error();

  // Response: header, objectHandle, parameterSize, outPublic (TPM2B_PUBLIC), ...
  tpm2::Reader reader(created.value());
  (void)reader.bytes(tpm2::kHeaderSize);
  const std::uint32_t handle = reader.u32();
  (void)reader.u32();  // parameterSize
  const std::uint16_t public_size = reader.u16();
  const std::span<const std::uint8_t> public_area = reader.bytes(public_size);
  if (!reader.ok() || public_size == 0 || public_size > kMaxEkPublicSize) {
    return EngineError{EngineFailure::kEkCreation, tpm2::kRcFailure};
  }
  std::memcpy(ek_public_, public_area.data(), public_size);

  std::uint8_t flush[14];
  {
    tpm2::Writer w(flush);
    w.u16(tpm2::kStNoSessions);
    w.u32(sizeof flush);
    w.u32(tpm2::kCcFlushContext);
    w.u32(handle);
  }
  if (auto r = run_internal(flush); !r) return r.error();

  // An orderly shutdown, so the guest's TPM2_Startup is an orderly TPM Reset.
  std::uint8_t shutdown[12];
  {
    tpm2::Writer w(shutdown);
    w.u16(tpm2::kStNoSessions);
    w.u32(sizeof shutdown);
    w.u32(tpm2::kCcShutdown);
    w.u16(tpm2::kSuClear);
  }
  if (auto r = run_internal(shutdown); !r) return r.error();

  ek_public_size_ = public_size;
  ek_algorithm_ = algorithm;
  return power_on();
}

// --- libtpms callbacks -----------------------------------------------------------------------

TpmEngine::NvBlob* TpmEngine::blob(const char* name) {
  for (NvBlob& b : blobs_) {
    if (same_name(b.name, name)) return &b;
  }
  return nullptr;
}

std::uint32_t TpmEngine::nv_init() {
  return TPM_SUCCESS;
}

std::uint32_t TpmEngine::nv_load(unsigned char** data, std::uint32_t* length,
                                 std::uint32_t /*tpm_number*/, const char* name) {
  if (g_active == nullptr || name == nullptr) return TPM_FAIL;
  NvBlob* b = g_active->blob(name);
  if (b == nullptr) return TPM_FAIL;
  if (b->size == 0) return TPM_RETRY;  // nothing stored yet: libtpms manufactures
  // libtpms frees what loaddata returns, so it must come from libtpms' own allocator.
  unsigned char* copy = nullptr;
  if (TPM_Malloc(&copy, b->size) != TPM_SUCCESS) return TPM_FAIL;
  std::memcpy(copy, b->data, b->size);
  *data = copy;
  *length = b->size;
  return TPM_SUCCESS;
}

bool TpmEngine::store_blob(NvBlob& b, const unsigned char* data, std::uint32_t length) {
  if (length > b.capacity) {
    if (length > UINT32_MAX - kNvGranule) return false;
    const std::uint32_t capacity = (length + kNvGranule - 1) / kNvGranule * kNvGranule;
    auto* grown = static_cast<std::uint8_t*>(allocator_.allocate(capacity, kNvAlignment));
    if (grown == nullptr) return false;  // the old state stays intact
    if (b.data != nullptr) allocator_.deallocate(b.data, b.capacity, kNvAlignment);
    b.data = grown;
    b.capacity = capacity;
  }
  if (length != 0) std::memcpy(b.data, data, length);
  b.size = length;
  return true;
}

std::uint32_t TpmEngine::nv_store(const unsigned char* data, std::uint32_t length,
                                  std::uint32_t /*tpm_number*/, const char* name) {
  if (g_active == nullptr || name == nullptr) return TPM_FAIL;
  TpmEngine& engine = *g_active;
  NvBlob* b = engine.blob(name);
  if (b == nullptr || (data == nullptr && length != 0)) return TPM_FAIL;
  if (engine.persistence_failed_) return TPM_FAIL;
  const bool permanent = same_name(name, TPM_PERMANENT_ALL_NAME);
  // libtpms commits only after a change, but the marshaled state can come out identical (an
  // orderly update that restores a value): nothing to write then.
  const bool unchanged =
      b->size == length && (length == 0 || std::memcmp(b->data, data, length) == 0);
  if (!engine.store_blob(*b, data, length)) return TPM_FAIL;
  if (!permanent || unchanged || engine.sink_ == nullptr) return TPM_SUCCESS;
  // libtpms' NvCommit: the command's response does not exist yet. A failure here makes libtpms
  // enter failure mode (ExecCommand.c: "If the NV commit fails, the TPM should be put in
  // failure mode"); the latch keeps the TPM failed across a power cycle too.
  ++engine.state_writes_;
  if (!engine.sink_->store_permanent_state({b->data, b->size})) {
    engine.persistence_failed_ = true;
    return TPM_FAIL;
  }
  return TPM_SUCCESS;
}

std::uint32_t TpmEngine::nv_delete(std::uint32_t /*tpm_number*/, const char* name,
                                   unsigned char must_exist) {
  if (g_active == nullptr || name == nullptr) return TPM_FAIL;
  NvBlob* b = g_active->blob(name);
  if (b == nullptr) return TPM_FAIL;
  if (b->size == 0 && must_exist) return TPM_FAIL;
  b->size = 0;  // the memory stays for the next store
  return TPM_SUCCESS;
}

std::uint32_t TpmEngine::io_init() {
  return TPM_SUCCESS;
}

std::uint32_t TpmEngine::io_locality(std::uint32_t* locality, std::uint32_t /*tpm_number*/) {
  *locality = g_active != nullptr ? g_active->locality_ : 0;
  return TPM_SUCCESS;
}

std::uint32_t TpmEngine::io_physical_presence(unsigned char* present,
                                              std::uint32_t /*tpm_number*/) {
  *present = 0;  // no physical presence in a confidential VM
  return TPM_SUCCESS;
}

}  // namespace cvtpm::vtpm
