#!/usr/bin/env bash
# The nightly regression check. Counts (allocations, instructions) are measured on this
# checkout and compared exactly with a stored baseline; timings are judged by a paired
# A/B (scripts/ab.sh) of the commit the baseline records against this one, because a
# stored timing from another night cannot tell +20 % from the machine's drift.
#
#   scripts/nightly.sh                      # against baselines/main.json
#   BASELINE=baselines/laptop.json FILTER='^encode_s16le/' INSTRUCTIONS=0 scripts/nightly.sh
#
# Checks the baseline before measuring anything. Leaves target/sttbench/report.md (for
# people) and report.json (for machines: {"counts": <compare report>, "timings": <A/B
# report>, "exit_code": N}), new.json (this run's results with metadata: counts, and
# timings as the median over the A/B rounds, for trend charts), trends.json (the TRENDS
# benches' figures, plain BMF, never judged), each bench's log, and the
# A/B rounds under target/sttbench/ab/. Exit status:
#   0  nothing regressed
#   1  something regressed: a count beyond its tolerance, a memory budget exceeded, a
#      benchmark missing from this run, or a timing the A/B found slower
#   2  broken input: the baseline is missing, corrupt, of another schema, or records no
#      commit the A/B can build; a bad knob
#   3  a bench failed to build or run, its results were unreadable, or a tool crashed
#
# Knobs (environment, with defaults), besides those of scripts/lib/measure.sh (FILTER,
# MEMORY, INSTRUCTIONS, TIMINGS, ...) and scripts/ab.sh (ROUNDS, CRITERION_ARGS, ...,
# passed through for the timings):
#   BASELINE=baselines/main.json   the baseline to compare counts with; its commit is the
#                                  A/B's base
#   BASE_REV=<the baseline's commit>   the A/B's base, when it should be another revision
#   AB_NOISE_THRESHOLD=0.02        the A/B's noise threshold (NOISE_THRESHOLD of ab.sh)
#   COMPARE_ARGS=                  extra `sttbench compare` flags for the counts, e.g.
#                                  "--tolerance instructions=2%"
#   TRENDS=network                 self-timed benches run whole after the verdict and
#                                  written to trends.json (plain BMF) for charts, never
#                                  judged: their figures are dominated by modelled
#                                  delays or by the host (e.g. TRENDS="network pace load");
#                                  TRENDS= for none. A trend bench that fails is logged,
#                                  not a failed night
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/measure.sh
source scripts/lib/measure.sh

BASELINE=${BASELINE:-baselines/main.json}
AB_NOISE_THRESHOLD=$(fraction AB_NOISE_THRESHOLD "${AB_NOISE_THRESHOLD:-0.02}")
COMPARE_ARGS=${COMPARE_ARGS:-}
TRENDS=${TRENDS-network}

# The baseline first: a broken one must not cost a night of measuring.
[[ -f $BASELINE ]] || die $EXIT_BROKEN "no baseline at $BASELINE; make one with scripts/save-baseline.sh NAME (see baselines/README.md)"
check=$(sttbench baseline check "$BASELINE") || die $EXIT_BROKEN "the baseline $BASELINE cannot be used; see the message above"
recorded=$(sed -n 's/^commit=//p' <<<"$check")
measures=$(sed -n 's/^measures=//p' <<<"$check")
if [[ $TIMINGS == 1 ]]; then
    if [[ -z ${BASE_REV:-} ]]; then
        [[ $recorded != unknown && $recorded != *-dirty ]] \
            || die $EXIT_BROKEN "$BASELINE records commit '$recorded', which the A/B cannot build; re-baseline from a clean checkout, or set BASE_REV"
        BASE_REV=$recorded
    fi
    git rev-parse --verify --quiet "$BASE_REV^{commit}" >/dev/null \
        || die $EXIT_BROKEN "the A/B's base '$BASE_REV' is not in this repository; fetch it (git fetch origin $BASE_REV) or set BASE_REV"
    [[ -z $(git status --porcelain --untracked-files=no) ]] \
        || log "warning: the working tree has changes; the A/B measures commit HEAD without them"
fi

mkdir -p "$OUT"
rm -f "$OUT"/report.{md,json} "$OUT"/counts-report.{md,json} "$OUT/new.json"
status=0

# Counts: this checkout against the stored baseline, exactly.
count_measures=()
[[ $MEMORY == 1 ]] && count_measures+=(allocs-per-chunk bytes-per-chunk peak-heap-bytes)
[[ $INSTRUCTIONS == 1 ]] && count_measures+=(instructions)
COLLECT_INPUTS=()
if [[ ${#count_measures[@]} -gt 0 ]]; then
    TIMINGS=0 measure "$OUT/counts.json"
    # Judge only the kinds of count this run took and the baseline has.
    judged=()
    for m in "${count_measures[@]}"; do [[ ,$measures, == *,$m,* ]] && judged+=("$m"); done
    if [[ ${#judged[@]} -eq 0 ]]; then
        log "the baseline has none of the counts measured (${count_measures[*]}); counts not compared"
    else
        counts_status=0
        # shellcheck disable=SC2086 # COMPARE_ARGS is a list of flags on purpose.
        sttbench compare "$BASELINE" "$OUT/counts.json" --filter "$FILTER" \
            --measure "$(IFS=,; echo "${judged[*]}")" $COMPARE_ARGS \
            --markdown "$OUT/counts-report.md" --json "$OUT/counts-report.json" --quiet \
            || counts_status=$?
        # A crash (a panic's 101, a signal) is a failure of the tool, not a verdict.
        [[ $counts_status -le $EXIT_BROKEN ]] || counts_status=$EXIT_BENCH_FAILED
        if [[ $MEMORY_OVER_BUDGET == 1 && $counts_status == 0 ]]; then
            log "the memory bench reported a count over its budget; see $OUT/memory.log"
            counts_status=$EXIT_REGRESSED
        fi
        status=$counts_status
    fi
fi

# Timings: a paired A/B of the baseline's commit against this one.
ab_status=0
if [[ $TIMINGS == 1 ]]; then
    OUT="$OUT/ab" NOISE_THRESHOLD=$AB_NOISE_THRESHOLD MEMORY=0 INSTRUCTIONS=0 FILTER=$FILTER \
        scripts/ab.sh "$BASE_REV" HEAD || ab_status=$?
    [[ $ab_status -le $EXIT_BENCH_FAILED ]] || ab_status=$EXIT_BENCH_FAILED
    if [[ -f $OUT/ab/head.json ]]; then COLLECT_INPUTS+=(--bmf "$OUT/ab/head.json"); fi
fi
((ab_status > status)) && status=$ab_status

# Trends: whole self-timed benches, recorded, never judged.
trend_inputs=()
for bench in $TRENDS; do
    [[ -f benches/$bench.rs ]] || { log "trends: no benches/$bench.rs; skipped"; continue; }
    rm -f "$STTBENCH_OUT/$bench.json"
    log "trends: cargo bench --bench $bench"
    if cargo bench --bench "$bench" >"$OUT/trend-$bench.log" 2>&1 && [[ -f $STTBENCH_OUT/$bench.json ]]; then
        trend_inputs+=(--bmf "$STTBENCH_OUT/$bench.json")
    else
        log "trends: the $bench bench failed (see $OUT/trend-$bench.log); its trend is missing tonight"
    fi
done
if [[ ${#trend_inputs[@]} -gt 0 ]]; then
    sttbench baseline collect "${trend_inputs[@]}" --plain --out "$OUT/trends.json" \
        || log "trends: cannot collect them into $OUT/trends.json"
fi

# This run's results, for the trend: counts and the A/B's head timings.
HOST_TIME_LOST=()
if [[ ${#COLLECT_INPUTS[@]} -gt 0 ]]; then collect "$OUT/new.json" "${COLLECT_INPUTS[@]}"; fi

# One report: counts, then timings.
{
    printf '# sttbench nightly: exit %s\n\n' "$status"
    if [[ -f $OUT/counts-report.md ]]; then cat "$OUT/counts-report.md"; echo; fi
    if [[ -f $OUT/ab/report.md ]]; then cat "$OUT/ab/report.md"; fi
} >"$OUT/report.md"
json_or_null() { if [[ -f $1 ]]; then cat "$1"; else echo null; fi; }
printf '{\n"counts": %s,\n"exit_code": %s,\n"timings": %s\n}\n' \
    "$(json_or_null "$OUT/counts-report.json")" "$status" "$(json_or_null "$OUT/ab/report.json")" >"$OUT/report.json"
cat "$OUT/report.md"
log "report: $OUT/report.md, $OUT/report.json (exit $status)"
exit "$status"
