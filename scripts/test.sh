#!/usr/bin/env bash
# The project's test command (README, CI): installs missing dependencies, then builds and runs
# every test twice: GCC ('default' preset, everything) and clang with ASan + UBSan ('asan'
# preset: unit tests, fuzz-corpus replays and short libFuzzer runs), after the format check;
# between the two, the .deb of the 'release' preset (static tools) is built, checked and run
# from a scratch root (scripts/package-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

step() { printf '\n==> %s\n' "$*"; }

step "default preset (GCC)"
cmake --preset default
# First, so a formatting slip fails in seconds rather than after the whole suite.
cmake --build --preset default --target format-check
cmake --build --preset default
ctest --preset default

step "release preset: the .deb, installed into a scratch root (scripts/package-test.sh)"
scripts/package-test.sh

step "asan preset (clang, ASan + UBSan, libFuzzer)"
cmake --preset asan
cmake --build --preset asan
ctest --preset asan

step "all tests passed"
