// POSIX threads for a single-threaded firmware: pthread_once runs the routine once, keys are a
// small table, and read-write locks only count holders — a lock request that would have to wait
// can only be a deadlock here, so it panics instead of hanging.
#include <pthread.h>
#include <cerrno>

#include "panic/panic.h"

namespace {

constexpr unsigned kMaxKeys = 64;

struct KeySlot {
  bool used;
  const void* value;
};
KeySlot g_keys[kMaxKeys];

// State kept in the first int of pthread_rwlock_t: > 0 readers, -1 writer, 0 free.
int& rwlock_state(pthread_rwlock_t* lock) {
  return *reinterpret_cast<int*>(lock);
}

constexpr int kOnceRunning = 1;
constexpr int kOnceDone = 2;

}  // namespace

extern "C" {

int pthread_once(pthread_once_t* once, void (*routine)()) {
  if (*once == kOnceDone) return 0;
  if (*once == kOnceRunning) cvtpm::fw::panic("pthread_once: routine re-entered itself (deadlock)");
  *once = kOnceRunning;
  routine();
  *once = kOnceDone;
  return 0;
}

int pthread_key_create(pthread_key_t* key, void (*)(void*)) {
  for (unsigned i = 0; i < kMaxKeys; ++i) {
    if (!g_keys[i].used) {
      g_keys[i] = KeySlot{true, nullptr};
      *key = i;
      return 0;
    }
  }
  return EAGAIN;
}

int pthread_key_delete(pthread_key_t key) {
  if (key >= kMaxKeys || !g_keys[key].used) return EINVAL;
  g_keys[key] = KeySlot{false, nullptr};
  return 0;
}

void* pthread_getspecific(pthread_key_t key) {
  return key < kMaxKeys && g_keys[key].used ? const_cast<void*>(g_keys[key].value) : nullptr;
}

int pthread_setspecific(pthread_key_t key, const void* value) {
  if (key >= kMaxKeys || !g_keys[key].used) return EINVAL;
  g_keys[key].value = value;
  return 0;
}

pthread_t pthread_self() {
  return 1;
}

int pthread_rwlock_init(pthread_rwlock_t* lock, const pthread_rwlockattr_t*) {
  *lock = pthread_rwlock_t{};
  return 0;
}

int pthread_rwlock_destroy(pthread_rwlock_t* lock) {
  if (rwlock_state(lock) != 0)
    cvtpm::fw::panic("pthread_rwlock_destroy: lock %p is held", static_cast<void*>(lock));
  return 0;
}

int pthread_rwlock_rdlock(pthread_rwlock_t* lock) {
  if (rwlock_state(lock) < 0)
    cvtpm::fw::panic("pthread_rwlock_rdlock: %p is write-locked by this thread (deadlock)",
                     static_cast<void*>(lock));
  ++rwlock_state(lock);
  return 0;
}

int pthread_rwlock_wrlock(pthread_rwlock_t* lock) {
  if (rwlock_state(lock) != 0)
    cvtpm::fw::panic("pthread_rwlock_wrlock: %p is already held by this thread (deadlock)",
                     static_cast<void*>(lock));
  rwlock_state(lock) = -1;
  return 0;
}

int pthread_rwlock_unlock(pthread_rwlock_t* lock) {
  int& state = rwlock_state(lock);
  if (state == 0)
    cvtpm::fw::panic("pthread_rwlock_unlock: %p is not locked", static_cast<void*>(lock));
  state = state < 0 ? 0 : state - 1;
  return 0;
}

}  // extern "C"
