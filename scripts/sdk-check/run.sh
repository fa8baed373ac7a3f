#!/usr/bin/env bash
# Streams the speech fixture to both mock providers with each official SDK and checks
# that transcripts come back. A manual compatibility check, not part of CI: it needs the
# SDKs, which CI does not install.
#
# Settings (environment):
#   PYTHON        a Python with deepgram-sdk 7.x and assemblyai 1.8.x   (default: python3)
#   NODE_PATH     node_modules with @deepgram/sdk 5.x and assemblyai 4.x (default: unset)
#   STTBENCH      the sttbench binary              (default: target/debug/sttbench, built)
#   SDKS          which drivers to run             (default: "deepgram-py assemblyai-py deepgram-js assemblyai-js")
# Exit codes: 0 every SDK got transcripts, 1 at least one did not, 2 setup failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PYTHON=${PYTHON:-python3}
SDKS=${SDKS:-deepgram-py assemblyai-py deepgram-js assemblyai-js}
work=$(mktemp -d)
pids=()
cleanup() {
    # TERM, not INT: background jobs of a non-interactive shell ignore SIGINT.
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

if [[ -z ${STTBENCH:-} ]]; then
    cargo build --quiet --bin sttbench || exit 2
    STTBENCH=target/debug/sttbench
fi

# Starts a mock and stores its URL, read from the line it prints when it listens, in the
# variable named $2. Not run in a subshell, so the trap sees every PID.
start_mock() {
    local name=$1 var=$2
    shift 2
    "$STTBENCH" mock "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pids+=("$!")
    for _ in $(seq 100); do
        if grep -q "listening on" "$work/$name.out"; then
            printf -v "$var" '%s' "$(sed -n 's/.* listening on \(.*\)$/\1/p' "$work/$name.out")"
            return 0
        fi
        sleep 0.1
    done
    echo "mock $name did not start: $(cat "$work/$name.err")" >&2
    exit 2
}

start_mock deepgram dg_url deepgram
start_mock assemblyai aai_url assemblyai
# The Node AssemblyAI SDK refuses ws://: give it a TLS mock and trust its certificate.
start_mock assemblyai-tls aai_tls_url assemblyai --tls --cert-out "$work/cert.pem"
aai_tls_url=${aai_tls_url/127.0.0.1/localhost}

failed=0
run() {
    local name=$1
    shift
    echo "==> $name"
    if "$@"; then echo "==> $name: transcripts received"; else echo "==> $name: FAILED"; failed=1; fi
}
for sdk in $SDKS; do
    case $sdk in
        deepgram-py) run "$sdk" "$PYTHON" scripts/sdk-check/deepgram_sdk.py "$dg_url" ;;
        assemblyai-py) run "$sdk" "$PYTHON" scripts/sdk-check/assemblyai_sdk.py "$aai_url" ;;
        deepgram-js) run "$sdk" node scripts/sdk-check/deepgram_sdk.js "$dg_url" ;;
        assemblyai-js)
            run "$sdk" env NODE_EXTRA_CA_CERTS="$work/cert.pem" \
                node scripts/sdk-check/assemblyai_sdk.js "$aai_tls_url" ;;
        *) echo "unknown SDK driver: $sdk" >&2; exit 2 ;;
    esac
done
exit "$failed"
