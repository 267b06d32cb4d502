#!/usr/bin/env bash
# The project's main job (README): installs missing dependencies, builds, and runs the example
# flow in examples/quickstart.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default
exec examples/quickstart.sh
