// The TPM behind the vTPM protocol: libtpms (TPM 2.0) with its state kept in memory through the
// libtpms NV callbacks. libtpms is one TPM per process, so at most one engine is active at a time.
//
// Power and startup policy (docs/vtpm-service.md):
//   manufacture() creates a fresh TPM (new seeds), computes the endorsement key from the TCG
//   template while nobody else can talk to the TPM, and leaves the TPM powered on and waiting for
//   TPM2_Startup, exactly like a TPM after _TPM_Init. The service never starts the TPM for the
//   guest: OVMF's Tcg2Pei sends TPM2_Startup(CLEAR) and Linux's driver sends it if it finds the
//   TPM not started (TPM_RC_INITIALIZE).
//   restore() brings back a TPM from a saved permanent state (persistence, docs/persistence.md)
//   in the same powered-on state. A PermanentStateSink, once attached, receives libtpms'
//   permanent state every time a command commits a change to it (libtpms' NvCommit), before the
//   command's response exists; if it fails, libtpms enters failure mode and the engine refuses
//   every later command and power-on: memory and storage never silently diverge.
//
// Freestanding.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "cvtpm/vtpm/allocator.h"
#include "cvtpm/vtpm/ek_template.h"
#include "cvtpm/vtpm/result.h"
#include "cvtpm/vtpm/svsm_abi.h"

namespace cvtpm::vtpm {

enum class EngineFailure : std::uint8_t {
  kInUse,              // another engine owns libtpms
  kNotManufactured,    // power_on() before manufacture()
  kLibtpms,            // a TPMLIB_* call failed; code = its TPM_RESULT
  kBufferSize,         // libtpms refused the buffer size; code = the size it chose
  kEkCreation,         // a command of the EK computation failed; code = its TPM_RC
  kPoweredOff,         // execute() while the TPM is off
  kResponseTooLarge,   // a response larger than the vTPM buffer carries; code = its size
  kBadState,           // restore() without a permanent state or with an invalid EK
  kPersistenceFailed,  // the state sink failed a write: the TPM stays failed for this boot
};

struct EngineError {
  EngineFailure failure;
  std::uint32_t code;
};

// Text for logs, e.g. "TPMLIB_MainInit failed".
const char* describe(EngineFailure failure);

struct EngineConfig {
  EkAlgorithm ek_algorithm = EkAlgorithm::kRsa2048;
};

// A TPM saved earlier: libtpms' permanent state ("permall") and the EK computed for it.
struct SavedTpm {
  std::span<const std::uint8_t> permanent;
  EkAlgorithm ek_algorithm;
  std::span<const std::uint8_t> ek_public;  // marshaled TPMT_PUBLIC
};

// Where the permanent state goes when it changes (the persistent vTPM's storage).
class PermanentStateSink {
 public:
  // Called with the new permanent state from inside the command that changed it. Returns false
  // if it could not be made durable: the TPM then fails this command and every later one.
  virtual bool store_permanent_state(std::span<const std::uint8_t> permanent) = 0;

 protected:
  ~PermanentStateSink() = default;
};

class TpmEngine {
 public:
  // Command and response buffer size of the TPM (TPM_PT_MAX_COMMAND_SIZE and
  // TPM_PT_MAX_RESPONSE_SIZE): the largest command the vTPM buffer carries, so the TPM never
  // advertises a command the transport cannot deliver, and every response fits the buffer.
  static constexpr std::uint32_t kBufferSize = kMaxTpmCommandSize;
  static_assert(kBufferSize <= kMaxTpmResponseSize);

  // NV state blobs ("permall", "volatilestate", "savestate") live in memory from `allocator`.
  explicit TpmEngine(Allocator& allocator);
  ~TpmEngine();
  TpmEngine(const TpmEngine&) = delete;
  TpmEngine& operator=(const TpmEngine&) = delete;

  // Manufactures a new TPM (discarding any previous state), computes its EK and leaves it
  // powered on, waiting for TPM2_Startup.
  Status<EngineError> manufacture(const EngineConfig& config);
  // Brings back `saved` (discarding any current state) and leaves the TPM powered on, waiting
  // for TPM2_Startup; the EK is taken as saved, not recomputed. kLibtpms if libtpms refuses the
  // state.
  Status<EngineError> restore(const SavedTpm& saved);
  // _TPM_Init with the state kept: the TPM comes back from its NV state and waits for
  // TPM2_Startup. Powers off first if needed (like a power loss: no implicit TPM2_Shutdown).
  Status<EngineError> power_on();
  void power_off();
  bool powered() const { return powered_; }

  // One TPM command at a time: callers hold the lock around execute().
  bool try_lock() { return !busy_.exchange(true, std::memory_order_acquire); }
  void unlock() { busy_.store(false, std::memory_order_release); }

  // Runs one TPM command at `locality` (what libtpms' locality callback reports). The command
  // buffer may be modified. The response stays valid until the next execute().
  Result<std::span<const std::uint8_t>, EngineError> execute(std::span<std::uint8_t> command,
                                                             std::uint8_t locality);

  // Marshaled TPMT_PUBLIC of the EK (empty before manufacture()); it stays the same across
  // power cycles because the endorsement seed does.
  std::span<const std::uint8_t> ek_public() const { return {ek_public_, ek_public_size_}; }
  EkAlgorithm ek_algorithm() const { return ek_algorithm_; }

  // TPM commands executed since construction (guest and internal): lets tests prove a rejected
  // request never reached the TPM.
  std::uint64_t commands_executed() const { return commands_executed_; }

  // Bytes of NV state held in memory (all blobs).
  std::size_t nv_bytes() const;

  // libtpms' permanent state as last stored (empty before manufacture()).
  std::span<const std::uint8_t> permanent_state() const;
  // Attaches (or with nullptr detaches) the sink that makes permanent-state changes durable.
  void set_state_sink(PermanentStateSink* sink) { sink_ = sink; }
  // Whether a sink write failed (the TPM then refuses every command until the next boot).
  bool persistence_failed() const { return persistence_failed_; }
  // Permanent-state changes handed to the sink since construction.
  std::uint64_t state_writes() const { return state_writes_; }

 private:
  struct NvBlob {
    const char* name;
    std::uint8_t* data;
    std::uint32_t size;
    std::uint32_t capacity;
  };
  static constexpr std::size_t kBlobCount = 3;

  Status<EngineError> compute_ek(EkAlgorithm algorithm);
  Result<std::span<const std::uint8_t>, EngineError> run_internal(std::span<std::uint8_t> command);
  void clear_nv();

  // libtpms callbacks (static: libtpms has no user pointer; they reach the active engine).
  static std::uint32_t nv_init();
  static std::uint32_t nv_load(unsigned char** data, std::uint32_t* length,
                               std::uint32_t tpm_number, const char* name);
  static std::uint32_t nv_store(const unsigned char* data, std::uint32_t length,
                                std::uint32_t tpm_number, const char* name);
  static std::uint32_t nv_delete(std::uint32_t tpm_number, const char* name,
                                 unsigned char must_exist);
  static std::uint32_t io_init();
  static std::uint32_t io_locality(std::uint32_t* locality, std::uint32_t tpm_number);
  static std::uint32_t io_physical_presence(unsigned char* present, std::uint32_t tpm_number);
  NvBlob* blob(const char* name);

  // Stores `data` into `b` (growing it); false if memory runs out (the old contents stay).
  bool store_blob(NvBlob& b, const unsigned char* data, std::uint32_t length);

  Allocator& allocator_;
  NvBlob blobs_[kBlobCount];
  PermanentStateSink* sink_ = nullptr;
  bool persistence_failed_ = false;
  std::uint64_t state_writes_ = 0;
  bool manufactured_ = false;
  bool powered_ = false;
  std::uint8_t locality_ = 0;
  std::atomic<bool> busy_{false};

  unsigned char* response_ = nullptr;  // libtpms-owned (TPM_Malloc), reused across commands
  std::uint32_t response_capacity_ = 0;

  std::uint8_t ek_public_[kMaxEkPublicSize] = {};
  std::size_t ek_public_size_ = 0;
  EkAlgorithm ek_algorithm_ = EkAlgorithm::kRsa2048;
  std::uint64_t commands_executed_ = 0;
};

// Holds the engine's command lock for a scope, if it could be taken.
class EngineLock {
 public:
  explicit EngineLock(TpmEngine& engine) : engine_(engine), held_(engine.try_lock()) {}
  ~EngineLock() {
    if (held_) engine_.unlock();
  }
  EngineLock(const EngineLock&) = delete;
  EngineLock& operator=(const EngineLock&) = delete;
  bool held() const { return held_; }

 private:
  TpmEngine& engine_;
  bool held_;
};

}  // namespace cvtpm::vtpm
