#!/usr/bin/env bash
# The nightly regression check: measure, compare with a stored baseline, re-run any
# timing that looks regressed, and fail only on what reproduces.
#
#   scripts/nightly.sh                      # against baselines/main.json
#   BASELINE=baselines/laptop.json FILTER='^encode_s16le/' INSTRUCTIONS=0 scripts/nightly.sh
#
# Leaves target/sttbench/report.md (for people) and report.json (for machines), the
# results of this run (new.json, and rerun-N.json when timings were re-run) and each
# bench's log. Exit status:
#   0  nothing regressed
#   1  something regressed: a count beyond its tolerance, a memory budget exceeded, or a
#      timing beyond the noise threshold on both the run and the re-run
#   2  broken input: the baseline is missing, corrupt or of another schema
#   3  a bench failed to build or run
#
# Knobs (environment, with defaults), besides those of scripts/lib/measure.sh:
#   BASELINE=baselines/main.json   the baseline to compare with
#   NOISE_THRESHOLD=5              percent; timings inside it are unchanged
#   RERUNS=2                       re-runs (new processes) a flagged timing must regress in
#                                  too before it fails; 0 fails at once
#   COMPARE_ARGS=                  extra `sttbench compare` flags, e.g. "--tolerance instructions=2%"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/measure.sh
source scripts/lib/measure.sh

BASELINE=${BASELINE:-baselines/main.json}
NOISE_THRESHOLD=${NOISE_THRESHOLD:-5}
RERUNS=${RERUNS:-2}
COMPARE_ARGS=${COMPARE_ARGS:-}

[[ -f $BASELINE ]] || die $EXIT_BROKEN "no baseline at $BASELINE; make one with scripts/save-baseline.sh NAME (see baselines/README.md)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# compare NEW [--rerun RERUN]...: judge against the baseline and write the reports.
compare() {
    local status=0
    # shellcheck disable=SC2086 # COMPARE_ARGS is a list of flags on purpose.
    sttbench compare "$BASELINE" "$@" --noise-threshold "$NOISE_THRESHOLD" --busy-threshold "$BUSY_THRESHOLD" $COMPARE_ARGS \
        --markdown "$OUT/report.md" --json "$OUT/report.json" --rerun-filter "$tmp/rerun-filter" \
        --quiet || status=$?
    return "$status"
}

mkdir -p "$OUT"
measure "$OUT/new.json"
# Fail broken input now, before spending time on re-runs.
status=0
compare "$OUT/new.json" || status=$?
[[ $status -le $EXIT_REGRESSED ]] || die "$status" "cannot compare; see the message above"

reruns=()
rm -f "$OUT"/rerun-*.json
for ((i = 1; i <= RERUNS; i++)); do
    [[ $status == "$EXIT_REGRESSED" && -s $tmp/rerun-filter ]] || break
    filter=$(<"$tmp/rerun-filter")
    log "re-run $i of $RERUNS for the timings still flagged: $filter"
    # Only the flagged benches and their floors are measured again; the other results,
    # counts included, are carried over from the first run.
    run_timings "$filter"
    # The self-timed benches are whole programs: re-run them whole, in a new process.
    run_bmf_benches "$filter"
    collect "$tmp/rerun-$i.json" "${COLLECT_INPUTS[@]}"
    reruns+=(--rerun "$tmp/rerun-$i.json")
    status=0
    compare "$OUT/new.json" "${reruns[@]}" || status=$?
    [[ $status -le $EXIT_REGRESSED ]] || die "$status" "cannot compare the re-run; see the message above"
done
[[ ${#reruns[@]} -eq 0 ]] || cp "$tmp"/rerun-*.json "$OUT/"

cat "$OUT/report.md"
if [[ $MEMORY_OVER_BUDGET == 1 && $status == 0 ]]; then
    log "the memory bench reported a count over its budget; see $OUT/memory.log"
    status=$EXIT_REGRESSED
fi
log "report: $OUT/report.md, $OUT/report.json (exit $status)"
exit "$status"
