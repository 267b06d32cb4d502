#!/usr/bin/env bash
# The manual page of one cvtpm tool, made from the tool itself so it cannot drift from it:
# help2man reads the tool's --help and --version, and each subcommand's --help becomes a section
# of its own (help2man's --include). Dated by SOURCE_DATE_EPOCH (help2man honours it), written
# with gzip -9 -n (no name or time stamp) through a temporary file: the same tool gives the same
# bytes, and a failure leaves no page behind.
#
#   packaging/man_page.sh TOOL SUMMARY OUT.1.gz        (help2man from $HELP2MAN or PATH)
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 TOOL SUMMARY OUT.1.gz" >&2; exit 2; }
tool=$1 summary=$2 out=$3
name=$(basename "$tool")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Plain text as roff: backslashes escaped, a leading control character neutralised, hyphens as
# minus signs (options must copy and paste as typed).
roff_text() {
  sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}

# The subcommands CLI11 lists in the tool's --help, under "Subcommands:".
subcommands=$("$tool" --help | awk '/^[A-Za-z]*[Ss]ubcommands:$/ { s = 1; next }
                                   s && /^$/ { s = 0 }
                                   s && /^  [a-z]/ { print $1 }')
for sub in $subcommands; do
  printf '[%s %s]\n.nf\n' "${name^^}" "${sub^^}"
  "$tool" "$sub" --help | roff_text
  printf '.fi\n'
done > "$work/subcommands.h2m"

include=()
[ -s "$work/subcommands.h2m" ] && include=(--include "$work/subcommands.h2m")
"${HELP2MAN:-help2man}" --no-info --section 1 --name "$summary" "${include[@]}" \
  --output "$work/$name.1" "$tool"
gzip -9 -n -c "$work/$name.1" > "$work/$name.1.gz"
mv "$work/$name.1.gz" "$out"
