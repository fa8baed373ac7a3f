#!/usr/bin/env bash
# Measures what the nightly measures and writes baselines/NAME.json for review.
#
#   scripts/save-baseline.sh main
#   git diff baselines/main.json    # review, then commit it yourself
#
# The script never commits: a baseline is data a person reviews (baselines/README.md).
# When baselines/NAME.json already exists, it prints how the new results compare with
# it, so the review starts from the differences. It refuses to write a baseline that
# would mislead every later comparison: a run that exceeded a memory budget, and a run on
# a busy host (more than BUSY_THRESHOLD of its time lost to other processes) unless
# ALLOW_BUSY=1, which the file then records. Its commit is the nightly A/B's base: make
# it from a clean checkout of a commit the nightly machine can fetch.
#
# Exit status: 0 written, 1 refused (a budget exceeded, a busy host), 2 bad usage or
# broken input, 3 a bench failed. Knobs: those of scripts/lib/measure.sh, and
#   ALLOW_BUSY=0                   1: write a busy host's baseline anyway, recorded in it
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/measure.sh
source scripts/lib/measure.sh

NAME=${1:-}
ALLOW_BUSY=${ALLOW_BUSY:-0}
[[ $NAME =~ ^[A-Za-z0-9._-]+$ ]] || die $EXIT_BROKEN "usage: scripts/save-baseline.sh NAME (letters, digits, . _ -), e.g. main"
target="baselines/$NAME.json"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure "$tmp/baseline.json"
if [[ $MEMORY_OVER_BUDGET == 1 ]]; then
    die $EXIT_REGRESSED "the memory bench exceeded a budget (see $OUT/memory.log); fix it, or change the budget in benches/memory.rs on purpose, before making a baseline"
fi
lost=$(sttbench baseline check "$tmp/baseline.json" | sed -n 's/^host_time_lost=//p')
if [[ $lost != unknown ]] && awk -v l="$lost" -v t="$BUSY_THRESHOLD" 'BEGIN { exit !(l > t) }'; then
    if [[ $ALLOW_BUSY != 1 ]]; then
        die $EXIT_REGRESSED "the host was busy (host load $lost, above $BUSY_THRESHOLD): its timings would read slow and hide regressions later; re-run on a quiet machine, or set ALLOW_BUSY=1 to record it anyway"
    fi
    log "the host was busy (host load $lost); recording ALLOW_BUSY in the baseline"
    COLLECT_SETTINGS=(--setting "allow-busy=host load $lost above $BUSY_THRESHOLD, written with ALLOW_BUSY=1")
    collect "$tmp/baseline.json" "${COLLECT_INPUTS[@]}"
fi
if [[ -f $target ]]; then
    log "how this run compares with the current $target:"
    sttbench compare "$target" "$tmp/baseline.json" --filter "$FILTER" || true
fi
mkdir -p baselines
cp "$tmp/baseline.json" "$target"
log "wrote $target; review it (git diff $target) and commit it yourself"
