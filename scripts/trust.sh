#!/usr/bin/env bash
# How far scripts/ab.sh can be trusted on this machine, measured: false alarms, the
# smallest slowdown it catches, and two deliberate regressions.
#
#   scripts/trust.sh                       # the full series; hours: run it on a quiet machine
#   AA_RUNS=2 DETECT_RUNS=2 SLOWDOWNS=0.05 ROUNDS=8 scripts/trust.sh   # a quick check of the script
#
# 1. False alarms: AA_RUNS comparisons of HEAD with itself over the gating IDs
#    (AA_FILTER), every second one with the other core saturated by a spinner (`yes`,
#    started and stopped by its PID). Any exit status but 0 is a false alarm.
# 2. Detection: for each slowdown in SLOWDOWNS and each of ENCODE_ID and SEND_ID, a
#    throw-away commit (in a throw-away worktree under target/, never on a branch) that
#    adds a chain of dependent multiplications to every encode (ChunkEncoder::encode_with)
#    or every send (Sender::send_at), sized to slow that benchmark by the given fraction;
#    DETECT_RUNS A/B runs of HEAD against it, half with the spinner. Caught = exit 1 with
#    that benchmark regressed. The size is calibrated first (one A/B with a chain worth
#    about 8 %), and the slowdown each size really caused is reported as the median of
#    its runs' estimates: the smallest slowdown caught 9 times in 10 reads off that.
# 3. Deliberate regressions: a per-chunk copy in the encoder and a per-send allocation and
#    copy in the send path, each one A/B over the gating IDs: must exit 1 and name them.
#
# Writes target/sttbench/trust/summary.md (and every run's report under runs/) and
# prints it. Exit status: 0 no false alarm and both deliberate regressions caught, 1 a
# target missed, 2 bad usage, 3 a build or a run failed.
#
# Knobs (environment, with defaults), besides ab.sh's (ROUNDS, CRITERION_ARGS, ...):
#   AA_RUNS=10                     A/A comparisons (half with the spinner)
#   AA_FILTER=<the gating IDs>     what the A/A and the deliberate regressions run
#   DETECT_RUNS=10                 A/B runs per slowdown and benchmark (half with the spinner)
#   SLOWDOWNS="0.02 0.03 0.05"    injected slowdowns, fractions (add 0.01 for the finest)
#   ENCODE_ID=encode_s16le/sine/1000ms   the floor-normalised encode benchmark
#   SEND_ID=send/echo_rtt/20ms     the send-path benchmark
#   OUT=target/sttbench/trust
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh

AA_RUNS=${AA_RUNS:-10}
AA_FILTER=${AA_FILTER:-$GATE_FILTER}
DETECT_RUNS=${DETECT_RUNS:-10}
SLOWDOWNS=${SLOWDOWNS:-0.02 0.03 0.05}
ENCODE_ID=${ENCODE_ID:-encode_s16le/sine/1000ms}
SEND_ID=${SEND_ID:-send/echo_rtt/20ms}
OUT=${OUT:-target/sttbench/trust}
for s in $SLOWDOWNS; do fraction SLOWDOWNS "$s" >/dev/null; done
[[ $AA_RUNS =~ ^[0-9]+$ && $DETECT_RUNS =~ ^[0-9]+$ ]] || die $EXIT_BROKEN "AA_RUNS and DETECT_RUNS are counts"

HEAD_SHA=$(git rev-parse HEAD)
WORKTREE="$OUT/worktree"
SPINNER=
cleanup() {
    if [[ -n $SPINNER ]]; then kill "$SPINNER" 2>/dev/null || true; fi
    if [[ -d $WORKTREE ]]; then git worktree remove --force "$WORKTREE" 2>/dev/null || true; fi
}
trap cleanup EXIT
mkdir -p "$OUT/runs"
rm -f "$OUT/results.tsv"

# spinner on|off: the other core saturated, or not; started and stopped by PID.
spinner() {
    if [[ $1 == on && -z $SPINNER ]]; then
        yes >/dev/null &
        SPINNER=$!
    elif [[ $1 == off && -n $SPINNER ]]; then
        kill "$SPINNER"
        wait "$SPINNER" 2>/dev/null || true
        SPINNER=
    fi
}

# ab NAME BASE HEAD [ENV...]: one scripts/ab.sh run, its report kept as runs/NAME.*; sets
# AB_STATUS and AB_SECONDS.
ab() {
    local name=$1 base=$2 head=$3 started=$SECONDS
    shift 3
    AB_STATUS=0
    env "$@" OUT="$OUT/ab" scripts/ab.sh "$base" "$head" >"$OUT/runs/$name.log" 2>&1 || AB_STATUS=$?
    AB_SECONDS=$((SECONDS - started))
    [[ $AB_STATUS -le $EXIT_REGRESSED ]] || die $EXIT_BENCH_FAILED "A/B run $name exited $AB_STATUS; see $OUT/runs/$name.log"
    cp "$OUT/ab/report.md" "$OUT/runs/$name.md"
    cp "$OUT/ab/report.json" "$OUT/runs/$name.json"
}

# regressed NAME: the benchmarks the run's report calls regressed, one a line.
# shellcheck disable=SC2016 # The backquotes are markdown, not expansions.
regressed() {
    grep -o '^| \*\*regressed\*\* | `[^`]*`' "$OUT/runs/$1.md" | sed 's/.*`\(.*\)`/\1/' | sort -u || true
}

# regressed_rows NAME: "benchmark (measure)" for each regressed row of the run, joined.
regressed_rows() {
    grep '^| \*\*regressed\*\* |' "$OUT/runs/$1.md" | awk -F' [|] ' '{ gsub("`", "", $2); print $2 " (" $3 ")" }' | paste -sd, - || true
}

# median VALUES...: the median of the numbers given.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ratio NAME ID: the judged HEAD ÷ BASE estimate of ID in run NAME (the table's fourth
# column, "× 1.050 (+5.0 %)").
ratio() {
    grep "| \`$2\` |" "$OUT/runs/$1.md" | head -1 | awk -F' [|] ' '{ print $4 }' | sed -n 's/^× \([0-9.]*\) .*/\1/p'
}

# inject KIND STATEMENT: a throw-away commit on HEAD with STATEMENT as the first line of
# the encoder's encode_with (KIND encode) or the sender's send_at (KIND send); prints it.
inject() {
    local kind=$1 statement=$2 file pattern
    case $kind in
        encode) file=src/encode/mod.rs pattern='fn encode_with(' ;;
        send) file=src/session/mod.rs pattern='fn send_at(' ;;
    esac
    if [[ -d $WORKTREE ]]; then git worktree remove --force "$WORKTREE"; fi
    git worktree add --quiet --detach "$WORKTREE" "$HEAD_SHA"
    grep -q "$pattern" "$WORKTREE/$file" || die $EXIT_BROKEN "cannot inject: no '$pattern' in $file; update inject() in scripts/trust.sh"
    # After the line that opens the function's body (the first `{` from the signature).
    awk -v pat="$pattern" -v code="$statement" '
        { print }
        index($0, pat) { found = 1 }
        found == 1 && /\{ *$/ { print "        " code; found = 2 }' \
        "$WORKTREE/$file" >"$WORKTREE/$file.new"
    mv "$WORKTREE/$file.new" "$WORKTREE/$file"
    git -C "$WORKTREE" -c user.name=sttbench-trust -c user.email=trust@localhost \
        commit --quiet --all --message "trust.sh: throw-away $kind injection"
    git -C "$WORKTREE" rev-parse HEAD
    git worktree remove --force "$WORKTREE"
}

# chain N: N dependent multiply-rotates (about 4 cycles each), which no compiler can
# fold or overlap.
chain() {
    echo "{ let mut x = std::hint::black_box(1u64); for _ in 0..std::hint::black_box($1u64) { x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(5); } std::hint::black_box(x); }"
}

record() { printf '%s\n' "$*" | tee -a "$OUT/results.tsv" >&2; }
started=$SECONDS
log "trust: HEAD ${HEAD_SHA:0:12}; $AA_RUNS A/A, $DETECT_RUNS runs per slowdown ($SLOWDOWNS) for $ENCODE_ID and $SEND_ID"

# 1. False alarms.
false_alarms=0
for ((i = 1; i <= AA_RUNS; i++)); do
    load=quiet
    if ((i % 2 == 0)); then load=busy; spinner on; fi
    ab "aa-$i" "$HEAD_SHA" "$HEAD_SHA" FILTER="$AA_FILTER"
    spinner off
    alarm=$(regressed_rows "aa-$i")
    if [[ $AB_STATUS != 0 ]]; then false_alarms=$((false_alarms + 1)); fi
    record "aa	$i	$load	exit $AB_STATUS	${AB_SECONDS}s	${alarm:-none}"
done

# 2. Detection, calibrated: what one link of the chain costs each benchmark.
declare -A per_link
for kind in encode send; do
    id=$ENCODE_ID; [[ $kind == send ]] && id=$SEND_ID
    # Sized for about 8 %: a short chain overlaps with the code around it, so one much
    # longer than the ladder's would price a link too high.
    links=$([[ $kind == encode ]] && echo 100 || echo 400)
    sha=$(inject "$kind" "$(chain "$links")")
    ab "calibrate-$kind" "$HEAD_SHA" "$sha" FILTER="^$id\$"
    r=$(ratio "calibrate-$kind" "$id")
    [[ -n $r ]] || die $EXIT_BENCH_FAILED "no ratio for $id in $OUT/runs/calibrate-$kind.md"
    per_link[$kind]=$(awk -v r="$r" -v n="$links" 'BEGIN { printf "%.8f", (r - 1) / n }')
    awk -v c="${per_link[$kind]}" 'BEGIN { exit !(c > 0) }' || die $EXIT_BENCH_FAILED "calibration of $id measured no slowdown (× $r); see $OUT/runs/calibrate-$kind.md"
    record "calibrate	$kind	$id	$links links → × $r	$(awk -v c="${per_link[$kind]}" 'BEGIN { printf "%.4f %% per link", c * 100 }')"
done
for slowdown in $SLOWDOWNS; do
    for kind in encode send; do
        id=$ENCODE_ID; [[ $kind == send ]] && id=$SEND_ID
        links=$(awk -v s="$slowdown" -v c="${per_link[$kind]}" 'BEGIN { n = int(s / c + 0.5); print (n < 1 ? 1 : n) }')
        sha=$(inject "$kind" "$(chain "$links")")
        caught=0 ratios=()
        for ((i = 1; i <= DETECT_RUNS; i++)); do
            if ((i % 2 == 0)); then spinner on; fi
            ab "detect-$kind-$slowdown-$i" "$HEAD_SHA" "$sha" FILTER="^$id\$"
            spinner off
            if [[ $AB_STATUS == 1 ]] && regressed "detect-$kind-$slowdown-$i" | grep -qx "$id"; then caught=$((caught + 1)); fi
            ratios+=("$(ratio "detect-$kind-$slowdown-$i" "$id")")
        done
        record "detect	$kind	$id	aimed at +$slowdown ($links links), measured × $(median "${ratios[@]}") (median of runs)	caught $caught/$DETECT_RUNS	runs × ${ratios[*]}	${AB_SECONDS}s a run"
    done
done

# 3. Deliberate regressions: a copy per encoded chunk, an allocation and copy per send.
missed=0
for kind in encode send; do
    case $kind in
        encode) statement='let _copy = std::hint::black_box(vec![0u8; samples * 2]);' ;;
        send) statement='let chunk = bytes::Bytes::copy_from_slice(std::hint::black_box(&chunk[..]));' ;;
    esac
    sha=$(inject "$kind" "$statement")
    ab "deliberate-$kind" "$HEAD_SHA" "$sha" FILTER="$AA_FILTER"
    named=$(regressed_rows "deliberate-$kind")
    [[ $AB_STATUS == 1 ]] || missed=$((missed + 1))
    record "deliberate	$kind	exit $AB_STATUS	${AB_SECONDS}s	regressed: ${named:-nothing}"
done

{
    printf '# sttbench trust: HEAD %s, %s\n\n' "${HEAD_SHA:0:12}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf 'ab.sh knobs: ROUNDS=%s CRITERION_ARGS=%s; took %s min.\n\n' "${ROUNDS:-12}" "${CRITERION_ARGS:-<default>}" "$(((SECONDS - started) / 60))"
    printf -- '- False alarms: %s of %s A/A runs (half with the other core saturated).\n' "$false_alarms" "$AA_RUNS"
    printf -- '- Deliberate regressions missed: %s of 2.\n\n' "$missed"
    printf '```\n'
    cat "$OUT/results.tsv"
    printf '```\n'
} >"$OUT/summary.md"
cat "$OUT/summary.md"
((false_alarms == 0 && missed == 0)) || exit $EXIT_REGRESSED
