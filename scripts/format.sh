#!/usr/bin/env bash
# Check (--check) or apply (--fix) clang-format on every C/C++ file tracked or added in the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:---check}
fmt=$(command -v clang-format || command -v clang-format-14)
mapfile -t files < <(git ls-files --cached --others --exclude-standard \
  '*.c' '*.h' '*.cpp' '*.hpp' '*.cc' | grep -v '^tests/fuzz/corpus/' || true)
[ ${#files[@]} -gt 0 ] || exit 0
case "$mode" in
  --fix) "$fmt" -i "${files[@]}" ;;
  --check) "$fmt" --dry-run --Werror "${files[@]}" ;;
  *) echo "usage: $0 [--check|--fix]" >&2; exit 2 ;;
esac
