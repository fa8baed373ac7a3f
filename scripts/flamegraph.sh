#!/usr/bin/env bash
# A flamegraph SVG per criterion benchmark matching a filter.
#
#   scripts/flamegraph.sh 'encode_s16le/noise/20ms'
#   PROFILE_TIME=10 scripts/flamegraph.sh '^send/'
#
# Runs the criterion benches with `--features flamegraph -- --profile-time N FILTER`:
# criterion then iterates each matching bench for N seconds without measuring, while
# pprof samples it (benches/support/flamegraph.rs), and leaves
# <criterion dir>/<bench>/profile/flamegraph.svg. The script prints the SVGs it made.
# Exit status: 0 SVGs written, 2 bad usage or no bench matched, 3 a bench failed.
#
# Knobs (environment, with defaults):
#   PROFILE_TIME=5                 seconds of sampling per bench
#   CRITERION_HOME=target/criterion  criterion's output directory
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FILTER=${1:-}
PROFILE_TIME=${PROFILE_TIME:-5}
export CRITERION_HOME=${CRITERION_HOME:-target/criterion}
[[ -n $FILTER ]] || { echo "usage: scripts/flamegraph.sh <bench filter regex>" >&2; exit 2; }

stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT

args=()
for bench in $(grep -l 'criterion_main!' benches/*.rs | xargs -n1 basename | sed 's/\.rs$//'); do
    args+=(--bench "$bench")
done
[[ ${#args[@]} -gt 0 ]] || { echo "error: no criterion benches in benches/" >&2; exit 3; }
echo "==> cargo bench --features flamegraph ${args[*]} -- --profile-time $PROFILE_TIME '$FILTER'" >&2
cargo bench --features flamegraph "${args[@]}" -- --profile-time "$PROFILE_TIME" "$FILTER" >&2 \
    || { echo "error: the bench run failed" >&2; exit 3; }

svgs=$(find "$CRITERION_HOME" -path '*/profile/flamegraph.svg' -newer "$stamp" | sort)
[[ -n $svgs ]] || { echo "error: no bench matched '$FILTER' (list them: cargo bench -- --list)" >&2; exit 2; }
echo "$svgs"
