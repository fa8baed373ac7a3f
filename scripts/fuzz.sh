#!/usr/bin/env bash
# Fuzzes the library's readers of outside input with cargo-fuzz (libFuzzer).
#
#   scripts/fuzz.sh                        # every target, 60 s each
#   FUZZ_SECONDS=300 scripts/fuzz.sh wav mock
#
# Targets (fuzz/fuzz_targets/, each a call into `sttbench::fuzzing`): wav, deepgram,
# assemblyai (server frames), mock (what a client sends a mock: upgrade request, query,
# headers, frames), bmf, baseline, criterion (result files), compare (the verdict on two
# arbitrary result files). Installs cargo-fuzz when it is missing; needs a nightly
# toolchain (installed with rustup when missing).
#
# Each target starts from its committed seeds (fuzz/corpus/TARGET/) plus what earlier runs
# found (fuzz/target/corpus/TARGET/, not committed) and runs for FUZZ_SECONDS. A crash
# stops that target; its input is kept in fuzz/artifacts/TARGET/ and the run goes on
# with the next target. Prints executions and crashes per target; the full libFuzzer
# output is in fuzz/target/logs/TARGET.log. To turn a crash into a regression test,
# copy its input to tests/fuzz_regressions/TARGET/ and fix the reader
# (tests/fuzz_regressions.rs feeds every file there to the same entry point).
#
# Exit status: 0 no crash, 1 a target crashed, 3 a build or tool failed.
#
# Knobs (environment, with defaults):
#   FUZZ_SECONDS=60           seconds per target (libFuzzer -max_total_time)
#   FUZZ_SANITIZER=none       cargo fuzz --sanitizer: none (the targets are safe Rust,
#                             and twice as fast without), address, leak, memory, thread
#   FUZZ_ARGS=                more libFuzzer flags, e.g. "-jobs=2 -workers=2"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_SANITIZER=${FUZZ_SANITIZER:-none}
FUZZ_ARGS=${FUZZ_ARGS:-}

if ! [[ $FUZZ_SECONDS =~ ^[1-9][0-9]*$ ]]; then
    echo "error: FUZZ_SECONDS=$FUZZ_SECONDS is not a whole number of seconds" >&2
    exit 3
fi

broken() {
    echo "error: $*" >&2
    exit 3
}

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal || broken "cannot install a nightly toolchain"
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo +nightly install cargo-fuzz --locked || broken "cannot install cargo-fuzz"
fi

all=()
for file in fuzz/fuzz_targets/*.rs; do
    all+=("$(basename "$file" .rs)")
done
targets=("$@")
if ((${#targets[@]} == 0)); then
    targets=("${all[@]}")
fi
for target in "${targets[@]}"; do
    [[ -f fuzz/fuzz_targets/$target.rs ]] || broken "no fuzz target \`$target\`; targets: ${all[*]}"
done

# Release code with debug assertions and overflow checks: an overflow is a crash too.
build=(--release --debug-assertions --sanitizer "$FUZZ_SANITIZER")
mkdir -p fuzz/target/logs
echo "building the fuzz targets (${build[*]}); log: fuzz/target/logs/build.log"
cargo +nightly fuzz build "${build[@]}" >fuzz/target/logs/build.log 2>&1 \
    || { tail -30 fuzz/target/logs/build.log >&2; broken "the fuzz targets do not build"; }

# A mock's input holds whole audio frames; longer inputs only slow it down.
max_len() {
    case $1 in
        mock) echo "-max_len=16384" ;;
        *) echo "-max_len=8192" ;;
    esac
}

crashed=0
summary=()
for target in "${targets[@]}"; do
    log=fuzz/target/logs/$target.log
    work=fuzz/target/corpus/$target
    mkdir -p "$work" "fuzz/artifacts/$target"
    started=fuzz/target/logs/$target.started
    touch "$started"
    echo "fuzzing $target for ${FUZZ_SECONDS}s (log: $log)"
    status=0
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    cargo +nightly fuzz run "${build[@]}" "$target" "$work" "fuzz/corpus/$target" -- \
        -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        "$(max_len "$target")" $FUZZ_ARGS >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    found=$(find "fuzz/artifacts/$target" -type f -newer "$started")
    crashes=$(grep -c . <<<"$found" || true)
    if ((status != 0 && crashes == 0)); then
        # libFuzzer exits non-zero without an artifact only when it could not run at all.
        tail -20 "$log" >&2
        broken "$target: libFuzzer failed (exit $status) without a crash input"
    fi
    if ((crashes > 0)); then
        crashed=1
        grep -m3 -E 'panicked at|ERROR: libFuzzer|SUMMARY' "$log" >&2 || true
        sed 's/^/  crash input: /' <<<"$found" >&2
    fi
    summary+=("$(printf '%-12s %12s %9s %8s' "$target" "${runs:-?}" "${rate:-?}" "$crashes")")
done

echo
printf '%-12s %12s %9s %8s\n' target executions exec/s crashes
printf '%s\n' "${summary[@]}"
if ((crashed)); then
    echo "a target crashed: inputs in fuzz/artifacts/; see the log for the panic" >&2
    exit 1
fi
