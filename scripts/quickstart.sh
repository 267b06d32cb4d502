#!/usr/bin/env bash
# The project's main job (README): installs missing dependencies, builds the 'release' preset
# (the static, optimised tools that `cmake --install` and the .deb ship), and runs the example
# flow in examples/quickstart.sh with them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
BIN=build-release/bin exec examples/quickstart.sh
