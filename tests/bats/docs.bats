#!/usr/bin/env bats
# Documentation meta-tests, generic over every man page man/man[18]/*.[18] (git's t0450 and t9902
# ideas): the page is mandoc-lint clean; its SYNOPSIS is exactly the usage its command's
# --help prints; its option table lists exactly the options --help lists; the bash
# completion offers every option of that table.
#
# Three kinds of page:
#   NAME.8       a binary: $UZFS_BUILD/cmd/NAME/NAME (zfsd: $UZFS_BUILD/daemon/zfsd), its
#                --help, completions/NAME (NAME.1 in man1 likewise: arcstat);
#   NAME-SUB.8   a subcommand: `NAME SUB --help`, the completion of NAME after SUB;
#   NAME.8 when NAME-*.8 pages exist: the overview of a command with subcommands; its
#                SUBCOMMANDS list must name exactly what `NAME --help` lists, and link every
#                NAME-SUB.8 page (these pages skip the --help usage/option checks).
#
# Last, the repository stands on its own (these cases need no build): no tracked file refers
# to documents outside it or to issue numbers a reader cannot see, the docs/*.md pages that
# README.md names exist, links between docs/ pages resolve, and every "docs/PAGE.md section N"
# cited anywhere is a "## N." heading of PAGE. And the layering docs/layers.md states holds:
# no command under cmd/ talks the wire protocol itself (every zfsd operation is a typed call
# of libzfs/zfs_core.h).

load ../lib/zdb_helpers

pages() { ls "$UZFS_ROOT"/man/man1/*.1 "$UZFS_ROOT"/man/man8/*.8; }
# page_name PAGE: the page's file name without its section ("zpool-list", "arcstat").
page_name() { local b; b=$(basename "$1"); echo "${b%.[0-9]}"; }
pages_of_kind() {
  local page
  for page in $(pages); do [ "$(kind_of "$page")" = "$1" ] && echo "$page"; done
  return 0
}
binary_of() {
  case $1 in
    zfsd) echo "$UZFS_BUILD/daemon/zfsd" ;;
    *) echo "$UZFS_BUILD/cmd/$1/$1" ;;
  esac
}

# kind_of PAGE: "command", "subcommand" or "overview".
kind_of() {
  local name
  local dir=${1%/*} sec=${1##*.}
  name=$(page_name "$1")
  if [[ $name == *-* ]] && [ -f "$dir/${name%%-*}.$sec" ]; then
    echo subcommand
  elif compgen -G "$dir/$name-*.$sec" >/dev/null; then
    echo overview
  else
    echo command
  fi
}

# words_of PAGE: the command the page documents, as words: "zdb", "zpool import".
words_of() {
  local name
  name=$(page_name "$1")
  if [ "$(kind_of "$1")" = subcommand ]; then echo "${name%%-*} ${name#*-}"; else echo "$name"; fi
}

# help_of PAGE: what the page's command prints for --help.
help_of() {
  local words
  read -ra words <<<"$(words_of "$1")"
  "$(binary_of "${words[0]}")" "${words[@]:1}" --help
}

# synopsis_of PAGE: the SYNOPSIS entries as rendered, one per line, blanks squeezed.
synopsis_of() {
  mandoc -T ascii -O width=300 "$1" | col -b | awk '
    /^SYNOPSIS/ { inside = 1; next }
    /^[A-Z]/ { inside = 0 }
    inside && NF { gsub(/^[ \t]+|[ \t]+$/, ""); gsub(/[ \t]+/, " "); print }
  '
}

# usage_of PAGE: the usage lines of --help ("Usage: NAME ..." and the indented "NAME ..."
# continuations), blanks squeezed.
usage_of() {
  local words
  read -ra words <<<"$(words_of "$1")"
  help_of "$1" | awk -v name="${words[0]}" '
    { line = $0; sub(/^Usage:[ \t]*/, "", line); gsub(/^[ \t]+|[ \t]+$/, "", line); gsub(/[ \t]+/, " ", line) }
    line == name || index(line, name " ") == 1 { print line; next }
    printed_any { exit }
  '
}

# page_options PAGE: the options of the page's option table (".It Fl X" items), sorted.
page_options() {
  sed -n 's/^\.It Fl \([^ ]*\).*/-\1/p' "$1" | LC_ALL=C sort -u
}

# help_options PAGE: the options --help describes (lines starting with -X or --long), sorted.
help_options() {
  help_of "$1" | grep -oE '^[[:space:]]+(--[a-z][a-z-]*|-[A-Za-z])([[:space:]]|$)' |
    sed 's/[[:space:]]//g' | LC_ALL=C sort -u
}

# synopsis_options PAGE: the options the SYNOPSIS uses: --long ones whole, -abc clusters
# letter by letter ([-e [-p DIR]...] gives -e and -p).
synopsis_options() {
  local o
  synopsis_of "$1" | grep -oE '(^| |\[)--?[A-Za-z][A-Za-z-]*' | sed 's/^[ []*//' |
    while read -r o; do
      if [[ $o == --* ]]; then echo "$o"; else grep -o . <<<"${o#-}" | sed 's/^/-/'; fi
    done | LC_ALL=C sort -u
}

# subcommands_listed_by NAME: the subcommands `NAME --help` lists (first word of each
# tab-indented line), sorted.
subcommands_listed_by() {
  "$(binary_of "$1")" --help | sed -n 's/^\t\([a-z][a-z-]*\).*/\1/p' | LC_ALL=C sort -u
}

# subcommands_of_page PAGE: the overview page's SUBCOMMANDS items (".It Cm SUB" or
# ".It Xr NAME-SUB 8"), sorted.
subcommands_of_page() {
  local name
  name=$(basename "$1" .8)
  sed -n -e 's/^\.It Cm \([a-z-]*\).*/\1/p' -e "s/^\\.It Xr $name-\\([a-z-]*\\) 8.*/\\1/p" "$1" |
    LC_ALL=C sort -u
}

@test "docs: there is a man page, a binary and a completion per page" {
  [ "$(pages | wc -l)" -ge 1 ]
  for page in $(pages); do
    read -ra words <<<"$(words_of "$page")"
    bin=$(binary_of "${words[0]}")
    [ -x "$bin" ] || { echo "$page: no binary $bin" >&2; return 1; }
    [ -f "$UZFS_ROOT/completions/${words[0]}" ] || { echo "$page: no completions/${words[0]}" >&2; return 1; }
    help_of "$page" >/dev/null || { echo "$page: ${words[*]} --help fails" >&2; return 1; }
  done
}

@test "docs: mandoc -Tlint -W warning is clean on every man page" {
  for page in $(pages); do
    mandoc -Tlint -W warning "$page" >&2
  done
}

# Section 7 pages (concepts, properties, features) document no command: they are linted, and
# every page any man page refers to with "Xr NAME 7" exists. zpool-features(7) must describe
# every feature of libcore/spa/spa_feature.h's table (its GUID and short name).
@test "docs: section 7 pages are mandoc-lint clean, and every Xr to section 7 has its page" {
  pages7=$(ls "$UZFS_ROOT"/man/man7/*.7)
  [ -n "$pages7" ]
  for page in $pages7; do
    mandoc -Tlint -W warning "$page" >&2
  done
  for ref in $(grep -h -o -E '^\.Xr [a-z-]+ 7' "$UZFS_ROOT"/man/man*/*.[178] | awk '{ print $2 }' | LC_ALL=C sort -u); do
    [ -f "$UZFS_ROOT/man/man7/$ref.7" ] || { echo "Xr $ref 7: no man/man7/$ref.7" >&2; return 1; }
  done
  [ -f "$UZFS_ROOT/man/man7/zpool-features.7" ]
  for guid in $(grep -o -E '\{k[A-Za-z]+, "[a-z_]+", "|\{"[a-z.]+:[a-z_]+", "[a-z_]+", "' "$UZFS_ROOT/libcore/spa/spa_feature.cc" | grep -o -E '"[a-z_]+"' | tr -d '"'); do
    grep -q -x "\.It Sy $guid" "$UZFS_ROOT/man/man7/zpool-features.7" ||
      { echo "zpool-features.7 does not describe feature $guid" >&2; return 1; }
  done
  grep -q -x '\.Sy com.uzfs:dax' "$UZFS_ROOT/man/man7/zpool-features.7"
}

@test "docs: each page's SYNOPSIS is the usage its command's --help prints" {
  for page in $(pages_of_kind command) $(pages_of_kind subcommand); do
    [ "$(synopsis_of "$page" | wc -l)" -ge 1 ]
    same <(synopsis_of "$page") <(usage_of "$page") || { echo "in $page" >&2; return 1; }
  done
}

@test "docs: each page's option table lists exactly the options --help lists" {
  for page in $(pages_of_kind command) $(pages_of_kind subcommand); do
    [ "$(page_options "$page" | wc -l)" -ge 1 ]
    same <(page_options "$page") <(help_options "$page") || { echo "in $page" >&2; return 1; }
  done
}

@test "docs: each page's SYNOPSIS uses only options of its option table" {
  for page in $(pages_of_kind command) $(pages_of_kind subcommand); do
    synopsis_options "$page" >"$BATS_TEST_TMPDIR/syn"
    # An extraction that finds nothing in a SYNOPSIS that has options is a broken test.
    if synopsis_of "$page" | grep -qE '(^| |\[)-'; then [ -s "$BATS_TEST_TMPDIR/syn" ]; fi
    missing=$(LC_ALL=C comm -23 "$BATS_TEST_TMPDIR/syn" <(page_options "$page"))
    [ -z "$missing" ] || { echo "$page: SYNOPSIS options not in the option table: $missing" >&2; return 1; }
  done
}

@test "docs: an overview page lists exactly the subcommands of NAME --help and links their pages" {
  [ "$(pages_of_kind overview | wc -l)" -ge 1 ]
  for page in $(pages_of_kind overview); do
    name=$(basename "$page" .8)
    same <(subcommands_listed_by "$name") <(subcommands_of_page "$page") || { echo "in $page" >&2; return 1; }
    for sub in "$UZFS_ROOT"/man/man8/"$name"-*.8; do
      s=$(basename "$sub" .8)
      grep -q "^\.It Xr $s 8" "$page" || { echo "$page: no '.It Xr $s 8' item" >&2; return 1; }
      subcommands_listed_by "$name" | grep -qx "${s#"$name"-}" ||
        { echo "$sub: $name has no subcommand ${s#"$name"-}" >&2; return 1; }
    done
  done
}

# complete_words NAME WORD...: what NAME's bash completion offers for the command line
# "NAME WORD..." (the last word being completed), one per line. Our NAME comes first on
# PATH: a completion that asks the binary must get ours (zfs-fuse's share the names).
complete_words() {
  local name=$1; shift
  (
    PATH=$(dirname "$(binary_of "$name")"):$PATH
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
  for page in $(pages_of_kind command) $(pages_of_kind subcommand); do
    read -ra words <<<"$(words_of "$page")"
    complete_words "${words[@]}" - | LC_ALL=C sort -u >"$BATS_TEST_TMPDIR/offered"
    missing=$(LC_ALL=C comm -23 <(page_options "$page") "$BATS_TEST_TMPDIR/offered")
    [ -z "$missing" ] || { echo "completions/${words[0]} (${words[*]}) does not offer: $missing" >&2; return 1; }
    extra=$(LC_ALL=C comm -13 <(page_options "$page") "$BATS_TEST_TMPDIR/offered")
    [ -z "$extra" ] || { echo "completions/${words[0]} (${words[*]}) offers options the page lacks: $extra" >&2; return 1; }
  done
}

@test "completion: an overview's command completes exactly its subcommands" {
  for page in $(pages_of_kind overview); do
    name=$(basename "$page" .8)
    same <(subcommands_listed_by "$name") <(complete_words "$name" "" | LC_ALL=C sort -u) ||
      { echo "completions/$name" >&2; return 1; }
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

@test "completion: zpool completes directories after -d, files after a vdev type, pools from zfsd" {
  dir=$BATS_TEST_TMPDIR/c
  mkdir -p "$dir/sub"
  : >"$dir/disk0"
  [ "$(complete_words zpool import -d "$dir/")" = "$dir/sub" ]
  [ "$(complete_words zpool ver)" = "version" ]
  [ "$(complete_words zpool create tank mirror "$dir/di")" = "$dir/disk0" ]
  [ "$(cd "$dir/sub" && complete_words zpool create tank "$dir/disk0" da)" = "dax" ]
  [ "$(complete_words zpool add tank dax "$dir/di")" = "$dir/disk0" ]
  # Pool names come from zfsd; with none reachable nothing is offered, and nothing is printed.
  UZFS_SOCKET=$BATS_TEST_TMPDIR/none.sock run complete_words zpool export ""
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

# ---- The repository stands on its own: docs/ and what points into it.

# tracked_text_files: the tracked files present in the work tree, NUL-separated, without this
# test (which names what it looks for).
tracked_text_files() {
  git -C "$UZFS_ROOT" ls-files -z | while IFS= read -r -d '' f; do
    [ "$f" = tests/bats/docs.bats ] || [ ! -f "$UZFS_ROOT/$f" ] || printf '%s\0' "$f"
  done
}

need_git_checkout() {
  git -C "$UZFS_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1 || skip "not a git checkout"
}

@test "docs: no tracked file points outside the repository or at issue numbers" {
  need_git_checkout
  [ "$(tracked_text_files | tr -cd '\0' | wc -c)" -ge 100 ]
  # Text files only (-I); "issue N" in any case: readers cannot see the issue tracker.
  found=$(cd "$UZFS_ROOT" && tracked_text_files |
    xargs -0 grep -I -s -n -E -i -e '\.\./shared' -e 'shared/docs' -e 'issue [0-9]' || true)
  [ -z "$found" ] || { echo "references outside the repository:" >&2; echo "$found" >&2; return 1; }
}

@test "layers: no command under cmd/ calls lzc::Call, names proto::OpId or includes proto.h" {
  # Request nvlists are built in libzfs/zfs_core.cc only; a command uses the typed calls.
  [ -d "$UZFS_ROOT/cmd/zfs" ]
  found=$(grep -r -n -E -e 'lzc::Call\b' -e '\bOpId\b' -e 'libzfs/proto\.h' \
    --include='*.cc' --include='*.h' "$UZFS_ROOT/cmd" || true)
  [ -z "$found" ] || { echo "cmd/ goes around libzfs/zfs_core.h:" >&2; echo "$found" >&2; return 1; }
}

@test "docs: every docs/*.md page README.md names exists, and README.md names docs/design.md" {
  pages=$(grep -o -E 'docs/[A-Za-z0-9_.-]+\.md' "$UZFS_ROOT/README.md" | LC_ALL=C sort -u)
  grep -qx docs/design.md <<<"$pages"
  for p in $pages; do
    [ -f "$UZFS_ROOT/$p" ] || { echo "README.md names $p, which does not exist" >&2; return 1; }
  done
}

@test "docs: every relative link between docs/*.md pages resolves" {
  n=0
  for page in "$UZFS_ROOT"/docs/*.md; do
    while read -r target; do
      n=$((n + 1))
      [ -f "$UZFS_ROOT/docs/$target" ] || { echo "${page#"$UZFS_ROOT"/}: no docs/$target" >&2; return 1; }
    done < <(grep -o -E '\]\([A-Za-z0-9_.-]+\.md\)' "$page" | sed 's/^](\(.*\))$/\1/')
  done
  [ "$n" -ge 1 ]
}

@test "docs: every 'docs/PAGE.md section N' a tracked file cites is a numbered heading of PAGE" {
  need_git_checkout
  cites=$(cd "$UZFS_ROOT" && tracked_text_files |
    xargs -0 grep -I -s -h -o -E 'docs/[A-Za-z0-9_-]+\.md,? sections? [0-9]+((-| and )[0-9]+)?' |
    LC_ALL=C sort -u)
  [ -n "$cites" ]
  while read -r cite; do
    page=${cite%%.md*}.md
    [ -f "$UZFS_ROOT/$page" ] || { echo "'$cite': no $page" >&2; return 1; }
    nums=${cite##*section}
    nums=${nums#s}
    read -r first sep last <<<"${nums//-/ - }"
    case $sep in
      -) nums=$(seq "$first" "$last") ;;
      and) nums="$first $last" ;;
      *) nums=$first ;;
    esac
    for n in $nums; do
      grep -q -E "^## $n\. " "$UZFS_ROOT/$page" || { echo "'$cite': $page has no '## $n.' heading" >&2; return 1; }
    done
  done <<<"$cites"
}
