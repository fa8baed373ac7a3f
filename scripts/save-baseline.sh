#!/usr/bin/env bash
# Measures what the nightly measures and writes baselines/NAME.json for review.
#
#   scripts/save-baseline.sh main
#   git diff baselines/main.json    # review, then commit it yourself
#
# The script never commits: a baseline is data a person reviews (baselines/README.md).
# When baselines/NAME.json already exists, it prints how the new results compare with
# it, so the review starts from the differences. Exit status: 0 written, 2 bad usage or
# broken input, 3 a bench failed. Knobs: those of scripts/lib/measure.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/measure.sh
source scripts/lib/measure.sh

NAME=${1:-}
[[ $NAME =~ ^[A-Za-z0-9._-]+$ ]] || die $EXIT_BROKEN "usage: scripts/save-baseline.sh NAME (letters, digits, . _ -), e.g. main"
target="baselines/$NAME.json"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure "$tmp/baseline.json"
if [[ -f $target ]]; then
    log "how this run compares with the current $target:"
    sttbench compare "$target" "$tmp/baseline.json" || true
fi
mkdir -p baselines
cp "$tmp/baseline.json" "$target"
log "wrote $target; review it (git diff $target) and commit it yourself"
