# shellcheck shell=bash
# shellcheck disable=SC2034 # Variables set here are read by the scripts that source it.
# Sourced by scripts/nightly.sh and scripts/save-baseline.sh: how sttbench measures.
#
# One definition of "run the benches and collect the results", so that a baseline and
# the nightly run that is compared with it are measured the same way. It runs:
#   - the criterion timing benches (every benches/*.rs with `criterion_main!`) into a
#     fresh $CRITERION_HOME, so results of renamed or removed benches cannot linger;
#   - the memory bench (dhat), which writes target/sttbench/memory.json;
#   - the instruction-count bench (gungraun under valgrind), installing the matching
#     gungraun-runner when it is missing.
# and merges everything into one baseline file with `sttbench baseline collect`.
# It never writes into baselines/ and never commits.
#
# Knobs (environment, with defaults):
#   OUT=target/sttbench            where results, reports and logs go
#   FILTER=                        criterion filter (regex) for the timing benches
#   CRITERION_ARGS=--noplot        extra criterion flags, e.g. "--measurement-time 5"
#   TIMINGS=1 MEMORY=1 INSTRUCTIONS=1   set one to 0 to skip that kind of bench
#   BMF_BENCHES=send_ratio         timing benches with their own harness that write
#                                  target/sttbench/<name>.json; run with TIMINGS=1
#   BUSY_THRESHOLD=5               percent of time lost (sttbench hiccup) above which the
#                                  host counts as busy: its timings are reported, not gated
#   GUNGRAUN_VERSION=0.20.0        must equal the gungraun version in Cargo.lock

OUT=${OUT:-target/sttbench}
FILTER=${FILTER:-}
CRITERION_ARGS=${CRITERION_ARGS:---noplot}
TIMINGS=${TIMINGS:-1}
MEMORY=${MEMORY:-1}
INSTRUCTIONS=${INSTRUCTIONS:-1}
BMF_BENCHES=${BMF_BENCHES:-send_ratio}
BUSY_THRESHOLD=${BUSY_THRESHOLD:-5}
GUNGRAUN_VERSION=${GUNGRAUN_VERSION:-0.20.0}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
# Every cargo call gets the same features, so switching between benches never rebuilds.
FEATURES=()
if [[ $INSTRUCTIONS == 1 ]]; then FEATURES=(--features instructions); fi
export CRITERION_HOME="$OUT/criterion"
export GUNGRAUN_HOME="$OUT/gungraun"

# Exit statuses shared by the scripts: compare's 0/1/2, and 3 when a bench itself failed.
readonly EXIT_REGRESSED=1 EXIT_BROKEN=2 EXIT_BENCH_FAILED=3

log() { printf '==> %s\n' "$*" >&2; }
die() { local status=$1; shift; printf 'error: %s\n' "$*" >&2; exit "$status"; }

# The sttbench binary, built once with the bench profile so it shares its dependencies.
sttbench() {
    if [[ -z ${STTBENCH_BIN:-} ]]; then
        cargo build --quiet --profile bench "${FEATURES[@]}" --bin sttbench || die $EXIT_BENCH_FAILED "cannot build sttbench"
        STTBENCH_BIN="$TARGET_DIR/release/sttbench"
    fi
    "$STTBENCH_BIN" "$@"
}

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

# run_timings FILTER: the criterion benches, restricted to FILTER unless it is empty.
# Records how busy the host was: a hiccup meter before and after (a neighbour's bursts)
# and the CPU other processes used during the run (a neighbour's build in between).
run_timings() {
    local filter=$1 args=() bench before after start during
    for bench in $(criterion_benches); do args+=(--bench "$bench"); done
    [[ ${#args[@]} -gt 0 ]] || die $EXIT_BENCH_FAILED "no criterion benches in benches/"
    # Built before the first hiccup measurement, so that compiling is not measured.
    cargo bench --no-run --quiet "${FEATURES[@]}" "${args[@]}" 2>"$OUT/build.log" \
        || die $EXIT_BENCH_FAILED "cannot build the timing benches; see $OUT/build.log"
    before=$(sttbench hiccup)
    log "timings: cargo bench ${args[*]} -- ${filter:-<all>} $CRITERION_ARGS"
    start=$(cpu_ticks)
    # shellcheck disable=SC2086 # CRITERION_ARGS is a list of flags on purpose.
    cargo bench "${FEATURES[@]}" "${args[@]}" -- $CRITERION_ARGS ${filter:+"$filter"} >"$OUT/timings.log" 2>&1 \
        || die $EXIT_BENCH_FAILED "a timing bench failed; see $OUT/timings.log"
    during=$(neighbours "$start" "$(cpu_ticks)")
    after=$(sttbench hiccup)
    HOST_TIME_LOST=(--host-time-lost "$before" --host-time-lost "$during" --host-time-lost "$after")
    log "host: hiccup $before before, $after after; other processes used $during of a core during"
    if awk -v a="$before" -v b="$after" -v d="$during" -v t="$BUSY_THRESHOLD" \
        'BEGIN { exit !(a * 100 > t || b * 100 > t || d * 100 > t) }'; then
        log "the host was busy: timings will be reported, not gated"
    fi
}

# run_bmf_benches [FILTER]: the timing benches that write their own BMF (BMF_BENCHES),
# skipping names with no benches/<name>.rs in this checkout. With FILTER (a re-run), only
# those whose results hold an ID the filter names; they run whole, in a new process.
run_bmf_benches() {
    local filter=${1:-} bench json
    BMF_FILES=()
    for bench in $BMF_BENCHES; do
        [[ -f benches/$bench.rs ]] || continue
        json="$TARGET_DIR/sttbench/$bench.json"
        BMF_FILES+=(--bmf "$json")
        if [[ -n $filter ]] && ! names_any "$json" "$filter"; then continue; fi
        rm -f "$json"
        log "timings: cargo bench --bench $bench"
        if ! cargo bench "${FEATURES[@]}" --bench "$bench" >"$OUT/$bench.log" 2>&1 || [[ ! -f $json ]]; then
            die $EXIT_BENCH_FAILED "the $bench bench failed or wrote no $json; see $OUT/$bench.log"
        fi
    done
}

# names_any JSON FILTER: whether FILTER names one of the benchmark IDs in a BMF file.
names_any() {
    local id
    while read -r id; do
        [[ $2 == *"$id"* ]] && return 0
    done < <(sed -n 's/^  "\([^"]*\)": {$/\1/p' "$1")
    return 1
}

# run_memory: the dhat bench. Over budget it exits non-zero but still writes its BMF;
# the comparison then judges the counts like any other, so only a missing file is fatal.
run_memory() {
    rm -f "$TARGET_DIR/sttbench/memory.json"
    log "memory: cargo bench --bench memory"
    if ! cargo bench "${FEATURES[@]}" --bench memory >"$OUT/memory.log" 2>&1; then
        [[ -f $TARGET_DIR/sttbench/memory.json ]] || die $EXIT_BENCH_FAILED "the memory bench failed; see $OUT/memory.log"
        log "memory: over budget (see $OUT/memory.log); the comparison shows which count"
        MEMORY_OVER_BUDGET=1
    fi
    [[ -f $TARGET_DIR/sttbench/memory.json ]] || die $EXIT_BENCH_FAILED "the memory bench wrote no $TARGET_DIR/sttbench/memory.json"
}

# run_instructions: gungraun under valgrind; installs the runner it needs.
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
measure() {
    local file=$1 inputs=()
    mkdir -p "$OUT"
    MEMORY_OVER_BUDGET=0
    HOST_TIME_LOST=()
    if [[ $TIMINGS == 1 ]]; then
        rm -rf "$CRITERION_HOME"
        run_timings "$FILTER"
        run_bmf_benches ""
        inputs+=(--criterion "$CRITERION_HOME" "${BMF_FILES[@]}")
    fi
    if [[ $MEMORY == 1 ]]; then run_memory; inputs+=(--bmf "$TARGET_DIR/sttbench/memory.json"); fi
    if [[ $INSTRUCTIONS == 1 ]]; then run_instructions; inputs+=(--gungraun "$GUNGRAUN_HOME"); fi
    collect "$file" "${inputs[@]}"
    COLLECT_INPUTS=("${inputs[@]}")
}

# collect FILE INPUT...: one baseline file from the given results, with metadata.
collect() {
    local file=$1; shift
    [[ $# -gt 0 ]] || die $EXIT_BROKEN "nothing to collect: TIMINGS, MEMORY and INSTRUCTIONS are all 0"
    local commit dirty=""
    commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
    [[ -z $(git status --porcelain --untracked-files=no 2>/dev/null) ]] || dirty="-dirty"
    sttbench baseline collect "$@" "${HOST_TIME_LOST[@]}" --out "$file" \
        --commit "$commit$dirty" --rustc "$(rustc -V)" \
        --setting "criterion-args=$CRITERION_ARGS" --setting "filter=$FILTER" \
        --setting "kinds=timings:$TIMINGS,memory:$MEMORY,instructions:$INSTRUCTIONS" \
        || die $EXIT_BROKEN "cannot collect the results into $file"
}
