#!/usr/bin/env bash
# Regenerates fixtures/speech-16bit-16000Hz-mono.wav, the committed speech signal.
#
# espeak-ng speaks a short English passage (voice en-us, 165 words per minute) at its
# native 22.05 kHz; sox converts it to 16 kHz, 16-bit, mono, normalises the peak to
# -1 dBFS and adds 250 ms of silence at each end, so that time to first partial and
# final latency have a clean start and end of speech to count from.
#
# Requires: espeak-ng and sox (Debian: apt-get install espeak-ng sox).
# Output is deterministic for a given espeak-ng version; the README records the one used.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TEXT=${TEXT:-"The quick brown fox jumps over the lazy dog. Call me back at five."}
OUT=${OUT:-fixtures/speech-16bit-16000Hz-mono.wav}

for tool in espeak-ng sox; do
    command -v "$tool" >/dev/null || { echo "error: $tool is not installed (apt-get install espeak-ng sox)" >&2; exit 2; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

espeak-ng -v en-us -s 165 -w "$tmp/raw.wav" "$TEXT"
sox "$tmp/raw.wav" -r 16000 -b 16 -c 1 -e signed-integer "$OUT" \
    norm -1 pad 0.25 0.25
soxi "$OUT"
echo "wrote $OUT ($(stat -c %s "$OUT") bytes) with $(espeak-ng --version | head -1)"
