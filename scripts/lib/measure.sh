# shellcheck shell=bash
# shellcheck disable=SC2034 # Variables set here are read by the scripts that source it.
# Sourced by scripts/nightly.sh and scripts/save-baseline.sh: how sttbench measures the
# checkout it runs in.
#
# One definition of "run the benches and collect the results", so that a baseline and
# the nightly run that is compared with it are measured the same way. It runs, each
# restricted to FILTER:
#   - the criterion timing benches (every benches/*.rs with `criterion_main!`) into a
#     fresh $CRITERION_HOME, so results of renamed or removed benches cannot linger; the
#     encode bench also writes its interleaved ratios (encode.json);
#   - the self-timed timing benches that write their own BMF (BMF_BENCHES);
#   - the memory bench (dhat), which writes memory.json;
#   - the instruction-count bench (gungraun under valgrind), installing the matching
#     gungraun-runner when it is missing;
# and merges everything into one baseline file with `sttbench baseline collect --filter`.
# It never writes into baselines/ and never commits.
#
# Knobs (environment, with defaults):
#   OUT=target/sttbench            where results, reports and logs go
#   FILTER=<the gating IDs>        regular expression over benchmark IDs, for every bench;
#                                  the default is GATE_FILTER in scripts/lib/common.sh,
#                                  FILTER=. selects everything
#   CRITERION_ARGS=--noplot        extra criterion flags, e.g. "--measurement-time 5"
#   TIMINGS=1 MEMORY=1 INSTRUCTIONS=1   set one to 0 to skip that kind of bench
#   BMF_BENCHES=send_ratio         timing benches with their own harness that write
#                                  <name>.json; run with TIMINGS=1
#   BUSY_THRESHOLD=0.05            host load (sttbench hiccup) above which the host counts
#                                  as busy (0.05 or 5%)
#   GUNGRAUN_VERSION=0.20.0        must equal the gungraun version in Cargo.lock
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

OUT=${OUT:-target/sttbench}
FILTER=${FILTER:-$GATE_FILTER}
CRITERION_ARGS=${CRITERION_ARGS:---noplot}
TIMINGS=${TIMINGS:-1}
MEMORY=${MEMORY:-1}
INSTRUCTIONS=${INSTRUCTIONS:-1}
BMF_BENCHES=${BMF_BENCHES:-send_ratio}
BUSY_THRESHOLD=$(fraction BUSY_THRESHOLD "${BUSY_THRESHOLD:-0.05}")
GUNGRAUN_VERSION=${GUNGRAUN_VERSION:-0.20.0}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
# Every cargo call gets the same features, so switching between benches never rebuilds.
FEATURES=()
if [[ $INSTRUCTIONS == 1 ]]; then FEATURES=(--features instructions); fi
export CRITERION_HOME="$OUT/criterion"
export GUNGRAUN_HOME="$OUT/gungraun"
# Where the benches that write BMF put it (benches/support/output.rs).
export STTBENCH_OUT="$OUT/results"

# The criterion bench targets, by what they are rather than by a list to keep in sync.
criterion_benches() {
    grep -l 'criterion_main!' benches/*.rs | xargs -n1 basename | sed 's/\.rs$//'
}

# cpu_ticks: "<machine busy> <machine total> <this script's finished children>" in clock
# ticks, from /proc: what the machine did, and how much of it was us.
cpu_ticks() {
    awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; printf "%d %d ", t - $5 - $6, t }' /proc/stat
    sed 's/.*) //' "/proc/$$/stat" | awk '{ print $14 + $15 }'
}

# neighbours START END: the share of one core other processes used between two cpu_ticks.
neighbours() {
    awk -v s="$1" -v e="$2" -v n="$(nproc)" 'BEGIN {
        split(s, a, " "); split(e, b, " ")
        others = (b[1] - a[1]) - (b[3] - a[3]); wall = (b[2] - a[2]) / n
        printf "%.4f\n", (others > 0 && wall > 0) ? others / wall : 0 }'
}

# run_timings FILTER: the criterion benches, restricted to FILTER. Records how busy the
# host was: a hiccup meter before and after (a neighbour's bursts) and the CPU other
# processes used during the run (a neighbour's build in between).
run_timings() {
    local filter=$1 args=() bench before after start during
    for bench in $(criterion_benches); do args+=(--bench "$bench"); done
    [[ ${#args[@]} -gt 0 ]] || die $EXIT_BENCH_FAILED "no criterion benches in benches/"
    # Built before the first hiccup measurement, so that compiling is not measured.
    cargo bench --no-run --quiet "${FEATURES[@]}" "${args[@]}" 2>"$OUT/build.log" \
        || die $EXIT_BENCH_FAILED "cannot build the timing benches; see $OUT/build.log"
    before=$(sttbench hiccup)
    log "timings: cargo bench ${args[*]} -- $CRITERION_ARGS $filter"
    start=$(cpu_ticks)
    # shellcheck disable=SC2086 # CRITERION_ARGS is a list of flags on purpose.
    cargo bench "${FEATURES[@]}" "${args[@]}" -- $CRITERION_ARGS "$filter" >"$OUT/timings.log" 2>&1 \
        || die $EXIT_BENCH_FAILED "a timing bench failed; see $OUT/timings.log"
    during=$(neighbours "$start" "$(cpu_ticks)")
    after=$(sttbench hiccup)
    HOST_TIME_LOST=(--host-time-lost "$before" --host-time-lost "$during" --host-time-lost "$after")
    log "host: hiccup $before before, $after after; other processes used $during of a core during"
    if awk -v a="$before" -v b="$after" -v d="$during" -v t="$BUSY_THRESHOLD" \
        'BEGIN { exit !(a > t || b > t || d > t) }'; then
        log "the host was busy: comparisons with these timings widen their noise threshold"
    fi
}

# run_bmf_benches FILTER: the timing benches that write their own BMF (BMF_BENCHES),
# skipping names with no benches/<name>.rs in this checkout, each in a new process,
# restricted to FILTER (a bench the filter leaves empty writes nothing).
run_bmf_benches() {
    local filter=$1 bench
    for bench in $BMF_BENCHES; do
        [[ -f benches/$bench.rs ]] || continue
        rm -f "$STTBENCH_OUT/$bench.json"
        log "timings: cargo bench --bench $bench -- $filter"
        cargo bench "${FEATURES[@]}" --bench "$bench" -- "$filter" >"$OUT/$bench.log" 2>&1 \
            || die $EXIT_BENCH_FAILED "the $bench bench failed; see $OUT/$bench.log"
    done
}

# run_memory: the dhat bench. Over budget it exits non-zero but still writes its BMF;
# the comparison then judges the counts like any other, so only a missing file is fatal.
run_memory() {
    rm -f "$STTBENCH_OUT/memory.json"
    log "memory: cargo bench --bench memory -- $FILTER"
    if ! cargo bench "${FEATURES[@]}" --bench memory -- "$FILTER" >"$OUT/memory.log" 2>&1; then
        [[ -f $STTBENCH_OUT/memory.json ]] || die $EXIT_BENCH_FAILED "the memory bench failed; see $OUT/memory.log"
        log "memory: over budget (see $OUT/memory.log); the comparison shows which count"
        MEMORY_OVER_BUDGET=1
    fi
}

# run_instructions: gungraun under valgrind; installs the runner it needs. It runs every
# instruction bench (seconds in all); collecting applies FILTER.
run_instructions() {
    command -v valgrind >/dev/null || die $EXIT_BENCH_FAILED "valgrind is not installed (apt-get install valgrind), or run with INSTRUCTIONS=0"
    if [[ $(gungraun-runner --version 2>/dev/null) != *"$GUNGRAUN_VERSION"* ]]; then
        log "installing gungraun-runner $GUNGRAUN_VERSION (about 4 minutes on 2 cores)"
        cargo install --quiet --locked gungraun-runner --version "$GUNGRAUN_VERSION" \
            || die $EXIT_BENCH_FAILED "cannot install gungraun-runner $GUNGRAUN_VERSION"
    fi
    rm -rf "$GUNGRAUN_HOME"
    log "instructions: cargo bench --features instructions --bench instructions"
    cargo bench "${FEATURES[@]}" --bench instructions -- --save-summary=json >"$OUT/instructions.log" 2>&1 \
        || die $EXIT_BENCH_FAILED "the instructions bench failed; see $OUT/instructions.log"
}

# measure FILE: run every enabled kind of bench and collect the results into FILE.
# Sets COLLECT_INPUTS (what was collected) and MEMORY_OVER_BUDGET.
measure() {
    local file=$1 inputs=() json
    mkdir -p "$OUT" "$STTBENCH_OUT"
    MEMORY_OVER_BUDGET=0
    HOST_TIME_LOST=()
    if [[ $TIMINGS == 1 ]]; then
        rm -rf "$CRITERION_HOME"
        rm -f "$STTBENCH_OUT/encode.json"
        run_timings "$FILTER"
        run_bmf_benches "$FILTER"
        inputs+=(--criterion "$CRITERION_HOME")
        for json in encode $BMF_BENCHES; do
            if [[ -f $STTBENCH_OUT/$json.json ]]; then inputs+=(--bmf "$STTBENCH_OUT/$json.json"); fi
        done
    fi
    if [[ $MEMORY == 1 ]]; then
        run_memory
        if [[ -f $STTBENCH_OUT/memory.json ]]; then inputs+=(--bmf "$STTBENCH_OUT/memory.json"); fi
    fi
    if [[ $INSTRUCTIONS == 1 ]]; then run_instructions; inputs+=(--gungraun "$GUNGRAUN_HOME"); fi
    COLLECT_INPUTS=("${inputs[@]}")
    collect "$file" "${inputs[@]}"
}

# collect FILE INPUT...: one baseline file from the given results, with metadata and any
# COLLECT_SETTINGS. Results the benches just wrote that cannot be read are a failed
# bench (3), not broken input.
collect() {
    local file=$1; shift
    [[ $# -gt 0 ]] || die $EXIT_BROKEN "nothing to collect: TIMINGS, MEMORY and INSTRUCTIONS are all 0, or FILTER selects nothing"
    local commit dirty=""
    commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
    [[ -z $(git status --porcelain --untracked-files=no 2>/dev/null) ]] || dirty="-dirty"
    sttbench baseline collect "$@" ${HOST_TIME_LOST[@]+"${HOST_TIME_LOST[@]}"} --out "$file" \
        --filter "$FILTER" --commit "$commit$dirty" --rustc "$(rustc -V)" \
        --setting "criterion-args=$CRITERION_ARGS" --setting "filter=$FILTER" \
        --setting "kinds=timings:$TIMINGS,memory:$MEMORY,instructions:$INSTRUCTIONS" \
        ${COLLECT_SETTINGS[@]+"${COLLECT_SETTINGS[@]}"} \
        || die $EXIT_BENCH_FAILED "cannot collect the results into $file; see the message above"
}
