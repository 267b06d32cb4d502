// Result types of the firmware core. The core has no exceptions: every fallible operation
// returns one of these, and [[nodiscard]] makes the compiler insist that callers look at it.
// Freestanding.
#pragma once

#include <type_traits>
#include <utility>

namespace cvtpm::vtpm {

// Success, or an error value E describing what failed.
template <typename E>
class [[nodiscard]] Status {
 public:
  static constexpr Status success() { return Status(); }
  constexpr Status(E error) : ok_(false), error_(error) {}  // NOLINT: errors convert implicitly

  constexpr bool ok() const { return ok_; }
  constexpr explicit operator bool() const { return ok_; }
  // Meaningful only when !ok().
  constexpr E error() const { return error_; }

 private:
  constexpr Status() : ok_(true), error_() {}
  bool ok_;
  E error_;
};

// A value T, or an error value E. T must be cheap to copy and default-constructible (sizes,
// spans, small structs): the core never returns owning objects.
template <typename T, typename E>
class [[nodiscard]] Result {
  static_assert(std::is_trivially_destructible_v<T>, "Result holds plain values only");

 public:
  constexpr Result(T value) : ok_(true), value_(value), error_() {}   // NOLINT: implicit
  constexpr Result(E error) : ok_(false), value_(), error_(error) {}  // NOLINT: implicit

  constexpr bool ok() const { return ok_; }
  constexpr explicit operator bool() const { return ok_; }
  // Meaningful only when ok().
  constexpr const T& value() const { return value_; }
  // Meaningful only when !ok().
  constexpr E error() const { return error_; }

 private:
  bool ok_;
  T value_;
  E error_;
};

}  // namespace cvtpm::vtpm
