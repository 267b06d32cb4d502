// Errors of the host tools: exceptions carry one user-facing line; tools print it at their edge.
#pragma once

#include <stdexcept>
#include <string>

namespace cvtpm {

// A problem with something the user gave us (a file, an option, bytes inside a file).
// what() is the complete one-line message, "<subject>: <problem>".
class InputError : public std::runtime_error {
 public:
  InputError(const std::string& subject, const std::string& problem)
      : std::runtime_error(subject + ": " + problem) {}
};

// Exit status of every cvtpm tool when its input is bad.
inline constexpr int kExitBadInput = 2;

}  // namespace cvtpm
