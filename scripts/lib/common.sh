# shellcheck shell=bash
# shellcheck disable=SC2034 # Variables set here are read by the scripts that source it.
# Sourced by every sttbench script: logging, exit statuses, knob checks, the sttbench
# binary the scripts judge with, and the benchmark IDs that gate.

# Exit statuses shared by the scripts: compare's 0/1/2, and 3 when a build or a bench
# itself failed (or a tool crashed).
readonly EXIT_REGRESSED=1 EXIT_BROKEN=2 EXIT_BENCH_FAILED=3

# The benchmark IDs the nightly gates on by default (a regular expression, criterion's
# filter syntax): the encoder at a small and a large chunk with its floor, the send path
# (round trip and its interleaved ratio to the TCP floor, the floor, allocations),
# the pipeline's resampler and downmix at 20 ms (their instruction counts), and the
# whole pipeline against both mocks. Not `resample/dasp_sinc`: it is the replaced
# resampler, kept as a peer to compare with, and nothing ships it; an A/A run with a
# steady neighbour once flagged it at +2.5 % (an unfloored timing, 12 rounds all above 1).
readonly GATE_FILTER='^(encode_s16le/(sine|noise|speech|memcpy_floor)/(20|1000)ms|send/(echo_rtt|tcp_floor|echo)/(20|1000)ms|(resample/rubato|downmix/stereo)/20ms|pipeline/(deepgram|assemblyai)/(first_partial|final_latency))$'

log() { printf '==> %s\n' "$*" >&2; }
die() { local status=$1; shift; printf 'error: %s\n' "$*" >&2; exit "$status"; }

# fraction NAME VALUE: VALUE as a fraction, for knobs spelled as criterion spells them
# (0.05) or as a percentage (5%); anything else, or a bare number above 1, is an error
# that names the knob.
fraction() {
    local name=$1 value=$2
    if [[ $value =~ ^[0-9]*\.?[0-9]+%$ ]]; then
        awk -v v="${value%\%}" 'BEGIN { printf "%.6g\n", v / 100 }'
    elif [[ $value =~ ^[0-9]*\.?[0-9]+$ ]] && awk -v v="$value" 'BEGIN { exit !(v <= 1) }'; then
        printf '%s\n' "$value"
    else
        die $EXIT_BROKEN "$name=$value: write a fraction as criterion does (0.05) or a percentage (5%)"
    fi
}

# sttbench ARGS...: the checkout's own sttbench, built once with the bench profile (it
# shares the benches' dependencies) and copied aside, so that a later build of another
# revision in the same target directory cannot replace the binary that judges.
sttbench() {
    if [[ -z ${STTBENCH_BIN:-} ]]; then
        local target=${CARGO_TARGET_DIR:-target}
        # The same features as the benches (FEATURES, when the caller set it), so that
        # switching between them never rebuilds the library.
        cargo build --quiet --profile bench ${FEATURES[@]+"${FEATURES[@]}"} --bin sttbench \
            || die $EXIT_BENCH_FAILED "cannot build sttbench"
        mkdir -p "$target/sttbench/bin"
        cp "$target/release/sttbench" "$target/sttbench/bin/sttbench.$$"
        mv "$target/sttbench/bin/sttbench.$$" "$target/sttbench/bin/sttbench"
        STTBENCH_BIN="$target/sttbench/bin/sttbench"
        export STTBENCH_BIN
    fi
    "$STTBENCH_BIN" "$@"
}
