#!/bin/sh
# Writes the version the CLI prints for `teekms --version`: the Maven project version and the git commit it was built
# from ("-dirty" when the work tree had changes; "unknown" outside a git checkout). Run by the Maven build.
# $1 = project version, $2 = output file.
set -eu
commit=unknown
if command -v git >/dev/null 2>&1 && commit_id=$(git -C "$(dirname "$0")" rev-parse --short=12 HEAD 2>/dev/null); then
  commit=$commit_id
  if [ -n "$(git -C "$(dirname "$0")" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit="$commit-dirty"
  fi
fi
mkdir -p "$(dirname "$2")"
printf 'version=%s\ncommit=%s\n' "$1" "$commit" > "$2.tmp"
# Rewrite only on change, so an unchanged build does not look newer to the launcher.
if [ -f "$2" ] && cmp -s "$2.tmp" "$2"; then rm -f "$2.tmp"; else mv "$2.tmp" "$2"; fi
