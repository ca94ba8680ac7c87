#!/usr/bin/env bats
# Documentation meta-tests, generic over every man page man/man8/NAME.8 (git's t0450 and
# t9902 ideas): the page is mandoc-lint clean; its SYNOPSIS is exactly the usage that
# `NAME --help` prints; its option table lists exactly the options --help lists; the bash
# completion completions/NAME offers every option of that table.
# The binary for NAME.8 is $UZFS_BUILD/cmd/NAME/NAME.

load ../lib/zdb_helpers

pages() { ls "$UZFS_ROOT"/man/man8/*.8; }
binary_of() { echo "$UZFS_BUILD/cmd/$1/$1"; }

# synopsis_of PAGE: the SYNOPSIS entries as rendered, one per line, blanks squeezed.
synopsis_of() {
  mandoc -T ascii -O width=300 "$1" | col -b | awk '
    /^SYNOPSIS/ { inside = 1; next }
    /^[A-Z]/ { inside = 0 }
    inside && NF { gsub(/^[ \t]+|[ \t]+$/, ""); gsub(/[ \t]+/, " "); print }
  '
}

# usage_of NAME: the usage lines of --help ("Usage: NAME ..." and the indented "NAME ..."
# continuations), blanks squeezed.
usage_of() {
  "$(binary_of "$1")" --help | awk -v name="$1" '
    { line = $0; sub(/^Usage:[ \t]*/, "", line); gsub(/^[ \t]+|[ \t]+$/, "", line); gsub(/[ \t]+/, " ", line) }
    index(line, name " ") == 1 { print line; next }
    printed_any { exit }
  '
}

# page_options PAGE: the options of the page's option table (".It Fl X" items), sorted.
page_options() {
  sed -n 's/^\.It Fl \([^ ]*\).*/-\1/p' "$1" | LC_ALL=C sort -u
}

# help_options NAME: the options --help describes (lines starting with -X or --long), sorted.
help_options() {
  "$(binary_of "$1")" --help | grep -oE '^[[:space:]]+(--[a-z][a-z-]*|-[A-Za-z])([[:space:]]|$)' |
    sed 's/[[:space:]]//g' | LC_ALL=C sort -u
}

@test "docs: there is a man page, a binary and a completion per page" {
  [ "$(pages | wc -l)" -ge 1 ]
  for page in $(pages); do
    name=$(basename "$page" .8)
    [ -x "$(binary_of "$name")" ] || { echo "$page: no binary $(binary_of "$name")" >&2; return 1; }
    [ -f "$UZFS_ROOT/completions/$name" ] || { echo "$page: no completions/$name" >&2; return 1; }
  done
}

@test "docs: mandoc -Tlint -W warning is clean on every man page" {
  for page in $(pages); do
    mandoc -Tlint -W warning "$page" >&2
  done
}

@test "docs: each page's SYNOPSIS is the usage its binary's --help prints" {
  for page in $(pages); do
    name=$(basename "$page" .8)
    [ "$(synopsis_of "$page" | wc -l)" -ge 1 ]
    same <(synopsis_of "$page") <(usage_of "$name") || { echo "in $page" >&2; return 1; }
  done
}

@test "docs: each page's option table lists exactly the options --help lists" {
  for page in $(pages); do
    name=$(basename "$page" .8)
    [ "$(page_options "$page" | wc -l)" -ge 2 ]
    same <(page_options "$page") <(help_options "$name") || { echo "in $page" >&2; return 1; }
  done
}

@test "docs: each page's SYNOPSIS uses only options of its option table" {
  for page in $(pages); do
    # -bcdhmuCv clusters count letter by letter; [-e [-p DIR]...] gives -e and -p.
    synopsis_of "$page" | grep -oE '(^| |\[)-[A-Za-z]+' | sed 's/^[ [-]*//' | grep -o . |
      sed 's/^/-/' | LC_ALL=C sort -u >"$BATS_TEST_TMPDIR/syn"
    [ -s "$BATS_TEST_TMPDIR/syn" ]
    missing=$(LC_ALL=C comm -23 "$BATS_TEST_TMPDIR/syn" <(page_options "$page"))
    [ -z "$missing" ] || { echo "$page: SYNOPSIS options not in the option table: $missing" >&2; return 1; }
  done
}

# complete_words NAME WORD...: what NAME's bash completion offers for the command line
# "NAME WORD..." (the last word being completed), one per line.
complete_words() {
  local name=$1; shift
  (
    # shellcheck disable=SC1090
    source "$UZFS_ROOT/completions/$name"
    fn=$(complete -p "$name" | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
    [ -n "$fn" ] || { echo "completions/$name registers no function for $name" >&2; exit 1; }
    COMP_WORDS=("$name" "$@")
    COMP_CWORD=$#
    COMP_LINE="$name $*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    "$fn" "$name" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf '%s\n' "${COMPREPLY[@]}"
  )
}

@test "completion: offers every option of the page's option table" {
  for page in $(pages); do
    name=$(basename "$page" .8)
    complete_words "$name" - | LC_ALL=C sort -u >"$BATS_TEST_TMPDIR/offered"
    missing=$(LC_ALL=C comm -23 <(page_options "$page") "$BATS_TEST_TMPDIR/offered")
    [ -z "$missing" ] || { echo "completions/$name does not offer: $missing" >&2; return 1; }
    extra=$(LC_ALL=C comm -13 <(page_options "$page") "$BATS_TEST_TMPDIR/offered")
    [ -z "$extra" ] || { echo "completions/$name offers options the page lacks: $extra" >&2; return 1; }
  done
}

@test "completion: zdb completes devices after -l and directories after -p" {
  dir=$BATS_TEST_TMPDIR/c
  mkdir -p "$dir/sub"
  : >"$dir/disk0"
  [ "$(complete_words zdb -l "$dir/di")" = "$dir/disk0" ]
  [ "$(complete_words zdb -lu "$dir/di")" = "$dir/disk0" ]
  [ "$(complete_words zdb -e -p "$dir/")" = "$dir/sub" ]
  [ "$(complete_words zdb -r pool/fs file "$dir/di")" = "$dir/disk0" ]
  [ -z "$(complete_words zdb -e -p "$dir" "$dir/di")" ]   # a pool name: not completed
}
