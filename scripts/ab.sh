#!/usr/bin/env bash
# Paired A/B of two revisions: the timing verdict that holds on a noisy machine.
#
#   scripts/ab.sh main HEAD
#   FILTER='^encode_s16le/(sine|memcpy_floor)/20ms$' ROUNDS=16 scripts/ab.sh v0.1.0 my-branch
#
# Revisions are commits: uncommitted changes are not measured. Builds the benches of
# both revisions (from a source export, each executable kept per commit under
# target/sttbench/ab/builds/ and reused), then runs them in
# alternating fresh processes, round after round in ABBA order (base, head; head, base;
# ...) so that a steady drift of the machine falls on both equally. Each round gives
# every benchmark one HEAD ÷ BASE ratio; `sttbench paired` judges the rounds: the median
# ratio and its order-statistics interval, regressed when the interval lies above 1 and
# the median above the noise threshold. Encode benchmarks are judged on their interleaved
# ratio to the floor, others with a floor on time ÷ floor time from the same process; the
# floor's own paired ratio is reported beside. Counts (allocations, and instructions with
# INSTRUCTIONS=1) are measured once per revision and compared exactly.
#
# Builds go to target/sttbench/ab/target, apart from the checkout's own (seeded once with
# its compiled dependencies, about 2 GB), whatever OUT is. Leaves $OUT/report.md and $OUT/report.json (per benchmark: the ratio, its interval,
# the verdict, the rounds), $OUT/head.json (head's timings, median over the rounds, BMF)
# and every round's results under $OUT/rounds/. Exit status:
#   0  nothing regressed
#   1  something regressed
#   2  broken input: an unknown revision, a bad knob, or a benchmark the filter selects
#      that ran for one revision only (ALLOW_MISSING=1 reports it instead)
#   3  a build or a bench failed
#
# Knobs (environment, with defaults):
#   FILTER=<the gating IDs>        regular expression over benchmark IDs (criterion's syntax);
#                                  the default is GATE_FILTER in scripts/lib/common.sh
#   ROUNDS=12                      rounds; each is one fresh process per revision and bench.
#                                  At 99 % confidence 8 is the minimum, 12 lets one round
#                                  disagree, 16 two: more rounds, smaller changes caught
#   BENCHES="encode send_latency send_ratio pipeline"   bench targets to run
#   CRITERION_ARGS="--warm-up-time 0.3 --measurement-time 0.7 --noplot"   per process
#   NOISE_THRESHOLD=0.02           a regression's median ratio must exceed 1 + this (0.02 or 2%)
#   CONFIDENCE=0.99                of the interval that must lie above 1 (0.99 or 99%)
#   MEMORY=1 INSTRUCTIONS=0        counts to compare (instructions need valgrind)
#   ALLOW_MISSING=0                1: a benchmark on one side only is reported, not exit 2
#   OUT=target/sttbench/ab         where rounds and reports go
#   BUILDS=target/sttbench/ab      where the exports, builds and kept executables go
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh

[[ $# -eq 2 ]] || die $EXIT_BROKEN "usage: scripts/ab.sh BASE_REV HEAD_REV (e.g. main HEAD)"
FILTER=${FILTER:-$GATE_FILTER}
ROUNDS=${ROUNDS:-12}
BENCHES=${BENCHES:-encode send_latency send_ratio pipeline}
CRITERION_ARGS=${CRITERION_ARGS:---warm-up-time 0.3 --measurement-time 0.7 --noplot}
NOISE_THRESHOLD=$(fraction NOISE_THRESHOLD "${NOISE_THRESHOLD:-0.02}")
CONFIDENCE=$(fraction CONFIDENCE "${CONFIDENCE:-0.99}")
MEMORY=${MEMORY:-1}
INSTRUCTIONS=${INSTRUCTIONS:-0}
ALLOW_MISSING=${ALLOW_MISSING:-0}
OUT=${OUT:-target/sttbench/ab}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
BUILDS=${BUILDS:-$TARGET_DIR/sttbench/ab}
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 ]] || die $EXIT_BROKEN "ROUNDS=$ROUNDS: a number of rounds, 1 or more (8 or more for 99 % confidence)"

# commit REV: the full commit hash of REV, or exit 2 naming it.
commit() {
    git rev-parse --verify --quiet "$1^{commit}" || die $EXIT_BROKEN "unknown revision '$1' (fetch it, or give a commit, branch or tag git knows)"
}
BASE=$(commit "$1")
HEAD=$(commit "$2")
log "A/B: base $1 (${BASE:0:12}), head $2 (${HEAD:0:12}); $ROUNDS rounds; filter $FILTER"

# Judge with this checkout's sttbench, built before any other revision is.
sttbench --version >/dev/null

# build SHA: the bench executables of commit SHA under $BUILDS/builds/SHA/, each built
# once. The source is a `git archive` export to $BUILDS/src (no worktree to prune if
# interrupted), extracted afresh with current file times: cargo decides freshness by
# file times, and an export keeps the commit's, older than any earlier build. Builds go
# to their own target directory, $BUILDS/target, so they never replace this checkout's
# artifacts (cargo names a package's artifacts the same wherever its source is); it is
# seeded once with this checkout's compiled dependencies.
build() {
    local sha=$1 dest="$BUILDS/builds/$1" src="$BUILDS/src" args=() bench features=() wanted=()
    wanted=("${BENCHES_RUN[@]}")
    [[ $MEMORY == 1 ]] && wanted+=(memory)
    [[ $INSTRUCTIONS == 1 ]] && wanted+=(instructions) && features=(--features instructions)
    mkdir -p "$dest"
    rm -rf "$src"
    mkdir -p "$src"
    git archive "$sha" | tar -x --touch -C "$src"
    for bench in "${wanted[@]}"; do
        # Built already, or not a bench at that commit (its IDs will be one-sided).
        [[ -x $dest/$bench || ! -f $src/benches/$bench.rs ]] || args+=(--bench "$bench")
    done
    if [[ ${#args[@]} -eq 0 ]]; then
        log "build ${sha:0:12}: cached"
        return
    fi
    if [[ ! -d $BUILDS/target/release && -d $TARGET_DIR/release ]]; then
        log "seeding $BUILDS/target with this checkout's compiled dependencies (once)"
        cp -a "$TARGET_DIR/release" "$BUILDS/target/"
    fi
    log "build ${sha:0:12}: cargo bench --no-run ${args[*]} (log: $dest/build.log)"
    if ! (cd "$src" && CARGO_TARGET_DIR=$ab_target cargo bench --no-run ${features[@]+"${features[@]}"} "${args[@]}") \
        >"$dest/build.log" 2>&1; then
        die $EXIT_BENCH_FAILED "cannot build the benches of ${sha:0:12}; see $dest/build.log"
    fi
    # Keep a copy of each executable (cargo names them in "Executable benches/NAME.rs
    # (PATH)" lines): the next commit's build replaces it.
    while read -r name exe; do
        cp "$exe" "$dest/$name.tmp" && mv "$dest/$name.tmp" "$dest/$name"
    done < <(sed -n 's|^ *Executable benches/\([A-Za-z0-9_]*\)\.rs (\(.*\))$|\1 \2|p' "$dest/build.log")
    for bench in "${args[@]}"; do
        [[ $bench == --bench || -x $dest/$bench ]] || die $EXIT_BENCH_FAILED "cargo built no $bench for ${sha:0:12}; see $dest/build.log"
    done
}

# run_side SHA DIR: one fresh process per bench of commit SHA, results into DIR.
run_side() {
    local sha=$1 dir=$2 bench exe status
    mkdir -p "$dir"
    for bench in "${BENCHES_RUN[@]}"; do
        exe="$BUILDS/builds/$sha/$bench"
        [[ -x $exe ]] || continue
        # shellcheck disable=SC2086 # CRITERION_ARGS is a list of flags on purpose.
        case $bench in
            send_ratio) run "$exe" "$dir" "$bench" --bench "$FILTER" ;;
            *) run "$exe" "$dir" "$bench" --bench $CRITERION_ARGS "$FILTER" ;;
        esac
    done
}

# run EXE DIR NAME ARGS...: runs one bench process with its results under DIR; the BMF
# files it writes (here, or under CARGO_TARGET_DIR/sttbench for older revisions) are
# moved into DIR, where `sttbench paired` reads them.
run() {
    local exe=$1 dir=$2 name=$3 file
    shift 3
    if ! CRITERION_HOME="$dir/criterion" STTBENCH_OUT="$dir/out" CARGO_TARGET_DIR="$dir/out-target" \
        "$exe" "$@" >"$dir/$name.log" 2>&1; then
        die $EXIT_BENCH_FAILED "the $name bench failed in $dir; see $dir/$name.log"
    fi
    for file in encode.json send_ratio.json memory.json; do
        for from in "$dir/out/$file" "$dir/out-target/sttbench/$file"; do
            if [[ -f $from ]]; then mv "$from" "$dir/$file"; fi
        done
    done
    rm -rf "$dir/out" "$dir/out-target"
}

# counts SHA DIR: the memory bench (and instructions) once; they are deterministic.
counts() {
    local sha=$1 dir=$2
    mkdir -p "$dir"
    if [[ $MEMORY == 1 && -x $BUILDS/builds/$sha/memory ]]; then
        # Over budget it exits 1 and still writes its figures, which the judge compares;
        # a filter that selects none of its cases leaves no file and exit 0.
        local status=0
        CRITERION_HOME="$dir/criterion" STTBENCH_OUT="$dir/out" CARGO_TARGET_DIR="$dir/out-target" \
            "$BUILDS/builds/$sha/memory" --bench "$FILTER" >"$dir/memory.log" 2>&1 || status=$?
        for from in "$dir/out/memory.json" "$dir/out-target/sttbench/memory.json"; do
            if [[ -f $from ]]; then mv "$from" "$dir/memory.json"; fi
        done
        [[ -f $dir/memory.json || $status == 0 ]] || die $EXIT_BENCH_FAILED "the memory bench failed; see $dir/memory.log"
    fi
    if [[ $INSTRUCTIONS == 1 && -x $BUILDS/builds/$sha/instructions ]]; then
        command -v valgrind >/dev/null || die $EXIT_BENCH_FAILED "valgrind is not installed (apt-get install valgrind), or run with INSTRUCTIONS=0"
        GUNGRAUN_HOME="$dir/gungraun" "$BUILDS/builds/$sha/instructions" --bench --save-summary=json \
            >"$dir/instructions.log" 2>&1 || die $EXIT_BENCH_FAILED "the instructions bench failed; see $dir/instructions.log"
        sttbench baseline collect --gungraun "$dir/gungraun" --filter "$FILTER" --plain \
            --out "$dir/instructions.json" >/dev/null || die $EXIT_BENCH_FAILED "cannot read the instruction counts in $dir/gungraun"
        rm -rf "$dir/gungraun"
    fi
    rm -rf "$dir/out" "$dir/out-target" "$dir/criterion"
}

read -r -a BENCHES_RUN <<<"$BENCHES"
mkdir -p "$OUT" "$BUILDS/target"
ab_target=$(cd "$BUILDS/target" && pwd)
build "$BASE"
build "$HEAD"
rm -rf "$OUT/rounds" "$OUT/counts" "$OUT"/report.{md,json} "$OUT/head.json"
if [[ $MEMORY == 1 || $INSTRUCTIONS == 1 ]]; then
    log "counts: memory $MEMORY, instructions $INSTRUCTIONS"
    counts "$BASE" "$OUT/counts/base"
    counts "$HEAD" "$OUT/counts/head"
    if [[ -z $(find "$OUT/counts" -name '*.json' -print -quit) ]]; then rm -rf "$OUT/counts"; fi
fi

start=$SECONDS
for ((round = 0; round < ROUNDS; round++)); do
    dir=$(printf '%s/rounds/%03d' "$OUT" "$round")
    # ABBA: even rounds base first, odd rounds head first.
    if ((round % 2 == 0)); then order=(base head); else order=(head base); fi
    for side in "${order[@]}"; do
        if [[ $side == base ]]; then run_side "$BASE" "$dir/base"; else run_side "$HEAD" "$dir/head"; fi
    done
    elapsed=$((SECONDS - start))
    left=$(((ROUNDS - round - 1) * elapsed / (round + 1)))
    log "round $((round + 1))/$ROUNDS (${order[0]} first) done after $((elapsed / 60)) min $((elapsed % 60)) s; about $((left / 60)) min $((left % 60)) s to go"
done

judge=(paired "$OUT" --base-rev "$1 (${BASE:0:12})" --head-rev "$2 (${HEAD:0:12})" --filter "$FILTER"
    --noise-threshold "$NOISE_THRESHOLD" --confidence "$CONFIDENCE"
    --markdown "$OUT/report.md" --json "$OUT/report.json" --head-bmf "$OUT/head.json")
[[ $ALLOW_MISSING == 1 ]] && judge+=(--allow-missing)
status=0
sttbench "${judge[@]}" || status=$?
# Anything but a verdict (a crash, a signal) is a failure of the tool, not a verdict.
[[ $status -le $EXIT_BROKEN ]] || status=$EXIT_BENCH_FAILED
log "report: $OUT/report.md, $OUT/report.json (exit $status)"
exit "$status"
