#!/usr/bin/env bash
# A bounded soak: long paced streams with silences, keep-alives and injected drops, and
# what they show about heap growth, pacer drift and reconnect losses. Not in CI.
#
#   scripts/soak.sh                    # 30 minutes
#   SOAK_MINUTES=3 scripts/soak.sh     # a quick check of the script
#
# It builds the release binary, then runs side by side, for SOAK_MINUTES:
#
# 1. one `sttbench stream --provider deepgram --realtime` to a local Deepgram mock that
#    drops the TCP connection (no close frame) every DROP_EVERY of audio on each of its
#    first connections (`--fault drop@... --fault-connections N`), with a PAUSE-long
#    silence every PAUSE_EVERY (`--pause`; keep-alives go on through it) and keep-alives
#    after KEEP_ALIVE idle;
# 2. one `sttbench load` of SOAK_STREAMS real-time streams to an echo socket, writing an
#    HdrHistogram interval log.
#
# Every SAMPLE_SECONDS it reads both processes' resident memory (VmRSS). At the end it
# writes target/sttbench/soak/summary.md and prints it:
#
# - heap flat: resident memory at the first sample after WARM_UP_SECONDS and at the
#   last, and the growth per minute between them (sttbench has no counting allocator;
#   resident memory is the process's heap plus what the allocator keeps);
# - pacer drift: the stream's sending time against its audio and pauses, the pacer's
#   wake lateness p99 and max, and the load's lateness p99 and whether every stream kept
#   real time, plus its first and last minute from the interval log (`sttbench merge`
#   is whole-log, so those two come from the log's lines by the hdrhistogram tools when
#   Python's `hdrh` is importable, and are skipped otherwise);
# - reconnect losses: every field the stream's JSON has about reconnects (`reconnects`,
#   `audio_replayed_bytes`, `audio_lost_bytes`, ...), printed as found; none when the
#   build has no reconnect-with-replay, in which case the stream ends at the first drop
#   and the summary says so.
#
# Knobs (environment, with defaults):
#   SOAK_MINUTES=30  SOAK_STREAMS=50  DROP_EVERY=3m  PAUSE_EVERY=2m  PAUSE=10s
#   KEEP_ALIVE=5s  SAMPLE_SECONDS=10  WARM_UP_SECONDS=60
#
# Every process it starts is stopped by its PID on exit. Exit status: 0 the soak ran
# (whatever it found: read the summary), 1 a process failed to start, 2 bad usage.

set -euo pipefail
cd "$(dirname "$0")/.."

SOAK_MINUTES=${SOAK_MINUTES:-30}
SOAK_STREAMS=${SOAK_STREAMS:-50}
DROP_EVERY=${DROP_EVERY:-3m}
PAUSE_EVERY=${PAUSE_EVERY:-2m}
PAUSE=${PAUSE:-10s}
KEEP_ALIVE=${KEEP_ALIVE:-5s}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-10}
WARM_UP_SECONDS=${WARM_UP_SECONDS:-60}

for n in SOAK_MINUTES SOAK_STREAMS SAMPLE_SECONDS WARM_UP_SECONDS; do
  if ! [[ ${!n} =~ ^[1-9][0-9]*$ ]]; then
    echo "error: $n=${!n} is not a positive whole number" >&2
    exit 2
  fi
done
if (( SOAK_MINUTES > 600 )); then
  echo "error: SOAK_MINUTES=$SOAK_MINUTES: a soak is bounded to 10 hours" >&2
  exit 2
fi

out=target/sttbench/soak
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.hdr "$out"/*.log "$out"/rss.tsv
cargo build --release --bin sttbench >&2
bin=target/release/sttbench

pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

# Seconds in a humantime duration of the forms this script's knobs use (90s, 3m, 1m30s).
seconds() {
  local text=$1 total=0 n
  while [[ $text =~ ^([0-9]+)(ms|s|m|h)(.*)$ ]]; do
    n=${BASH_REMATCH[1]}
    case ${BASH_REMATCH[2]} in
      ms) ;;
      s) total=$((total + n)) ;;
      m) total=$((total + 60 * n)) ;;
      h) total=$((total + 3600 * n)) ;;
    esac
    text=${BASH_REMATCH[3]}
  done
  [[ -z $text ]] || { echo "error: cannot read the duration $1" >&2; exit 2; }
  echo "$total"
}

# Starts a local server in the background, in this shell (so that its PID is ours to
# stop), logging to $1.
start_server() {
  local log=$1
  shift
  "$bin" "$@" >"$log" 2>&1 &
  pids+=($!)
}

# The URL a server started by start_server printed to $1, once it is listening.
server_url() {
  local log=$1 url=""
  for _ in $(seq 1 100); do
    url=$(grep -o 'wss\?://[0-9.:]*[^ ]*' "$log" | head -1 || true)
    [[ -n $url ]] && break
    sleep 0.1
  done
  [[ -n $url ]] || { echo "error: no URL in $log" >&2; exit 1; }
  echo "$url"
}

total=$((SOAK_MINUTES * 60))
drop_every=$(seconds "$DROP_EVERY")
pause_every=$(seconds "$PAUSE_EVERY")
pause=$(seconds "$PAUSE")
drops=$(( total / drop_every ))
(( drops >= 1 )) || drops=1

start_server "$out/mock.log" mock deepgram --listen 127.0.0.1:0 \
  --fault "drop@${drop_every}s" --fault-connections "$drops"
start_server "$out/echo.log" echo --listen 127.0.0.1:0
mock_url=$(server_url "$out/mock.log")
echo_url=$(server_url "$out/echo.log")

pause_flags=()
pause_ats=()
for (( at = pause_every; at < total; at += pause_every )); do
  pause_flags+=(--pause "${pause}s@${at}s")
  pause_ats+=("$at")
done

echo "soak: ${SOAK_MINUTES} min; a drop every ${drop_every}s of audio (first $drops connections);" \
  "${#pause_ats[@]} pauses of ${pause}s; $SOAK_STREAMS load streams" >&2
"$bin" stream --provider deepgram --url "$mock_url" --realtime --signal speech \
  --duration "${total}s" --keep-alive "$KEEP_ALIVE" "${pause_flags[@]}" \
  --reconnects "$((drops + 2))" --json \
  >"$out/stream.json" 2>"$out/stream.log" &
stream_pid=$!
pids+=("$stream_pid")
"$bin" load --url "$echo_url" --streams "$SOAK_STREAMS" --duration "${total}s" \
  --ramp-up 10s --json --hdr-log "$out/load.hdr" >"$out/load.json" 2>"$out/load.log" &
load_pid=$!
pids+=("$load_pid")

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo ""; }
printf 'second\tstream_kib\tload_kib\n' >"$out/rss.tsv"
start=$SECONDS
# Bounded: the run's own length plus a grace for the closes, then the processes are
# stopped whatever they are doing.
deadline=$((start + total + pause + 120))
while (( SECONDS < deadline )); do
  s=$(rss "$stream_pid"); l=$(rss "$load_pid")
  [[ -z $s && -z $l ]] && break
  printf '%d\t%s\t%s\n' $((SECONDS - start)) "${s:--}" "${l:--}" >>"$out/rss.tsv"
  sleep "$SAMPLE_SECONDS"
done
wait "$stream_pid" 2>/dev/null || true
wait "$load_pid" 2>/dev/null || true

# Growth between the first sample after the warm-up and the last, per column.
growth() {
  awk -v col="$1" -v warm="$WARM_UP_SECONDS" -F'\t' '
    NR > 1 && $1 >= warm && $col != "-" { if (first == "") { first = $col; t0 = $1 } last = $col; t1 = $1 }
    END {
      if (first == "") { print "not enough samples"; exit }
      mins = (t1 - t0) / 60
      rate = mins > 0 ? (last - first) / mins : 0
      printf "%d KiB at %ds → %d KiB at %ds: %+d KiB (%+.1f KiB/min)", first, t0, last, t1, last - first, rate
    }' "$out/rss.tsv"
}

field() { jq -r "$1 // \"n/a\"" "$2" 2>/dev/null || echo "n/a"; }

summary=$out/summary.md
{
  echo "# Soak: ${SOAK_MINUTES} min ($(date -u +%FT%TZ), $(nproc) cores; a shared machine is noisy)"
  echo
  echo "## Heap flat (resident memory, sampled every ${SAMPLE_SECONDS}s)"
  echo
  echo "- stream: $(growth 2)"
  echo "- load (${SOAK_STREAMS} streams): $(growth 3)"
  echo
  echo "## Pacer drift"
  echo
  if [[ -s $out/stream.json ]]; then
    sending=$(field '.sending_ns' "$out/stream.json")
    audio=$(field '.audio_sent_ns' "$out/stream.json")
    # Only the pauses the stream reached count (one that dropped early reached fewer).
    paused=0
    if [[ $audio != n/a ]]; then
      for at in "${pause_ats[@]}"; do
        (( at * 1000000000 < audio )) && paused=$((paused + pause))
      done
    fi
    echo "- stream: ended $(field '.ended' "$out/stream.json"); audio sent $(field '.audio_sent_ns / 1e9' "$out/stream.json") s, sending took $(field '.sending_ns / 1e9' "$out/stream.json") s, ${paused} s of it in the pauses it reached"
    if [[ $sending != n/a && $audio != n/a ]]; then
      echo "  (drift: sending − audio − pauses = $(( (sending - audio) / 1000000 - paused * 1000 )) ms; one chunk less is on time, the last chunk's own length is not waited)"
    fi
    echo "- stream wake lateness: p99 $(field '.stages.wake_lateness.p99_ns / 1e6' "$out/stream.json") ms, max $(field '.stages.wake_lateness.max_ns / 1e6' "$out/stream.json") ms"
  else
    echo "- stream: no JSON (see $out/stream.log)"
  fi
  if [[ -s $out/load.json ]]; then
    echo "- load: realtime_held $(field '.realtime_held' "$out/load.json"), lateness p99 $(field '.lateness_p99_ns / 1e6' "$out/load.json") ms, max $(field '.lateness.max_ns / 1e6' "$out/load.json") ms, $(field '.streams_completed' "$out/load.json")/${SOAK_STREAMS} completed"
    if python3 -c 'import hdrh' 2>/dev/null; then
      python3 - "$out/load.hdr" <<'PY'
import sys
from hdrh.log import HistogramLogReader
from hdrh.histogram import HdrHistogram
reader = HistogramLogReader(sys.argv[1], HdrHistogram(1, 60_000_000_000, 3))
per_interval = []
while True:
    h = reader.get_next_interval_histogram()
    if h is None:
        break
    if h.get_tag() == "lateness" and h.get_total_count() > 0:
        per_interval.append(h.get_value_at_percentile(99) / 1e6)
if len(per_interval) >= 120:
    first, last = per_interval[60:120], per_interval[-60:]
    med = lambda xs: sorted(xs)[len(xs) // 2]
    print(f"- load lateness p99 per second, median of the 2nd minute {med(first):.2f} ms, of the last {med(last):.2f} ms")
PY
    fi
  else
    echo "- load: no JSON (see $out/load.log)"
  fi
  echo
  echo "## Reconnect losses (stream)"
  echo
  if [[ -s $out/stream.json ]]; then
    found=$(jq -r 'to_entries[] | select(.key | test("reconnect|replay|lost|gap")) | "- \(.key): \(.value | tostring)"' "$out/stream.json")
    if [[ -n $found ]]; then
      echo "$found"
    else
      echo "- no reconnect fields in the stream's JSON: this build does not reconnect with replay; the stream ended at the first drop ($(field '.ended' "$out/stream.json"))"
    fi
    echo "- drops injected: up to $drops (one every ${drop_every}s of audio per connection); the mock logged $(grep -c 'fired' "$out/mock.log" || true) that fired"
  fi
} >"$summary"
cat "$summary"
