"""Streams the speech fixture to an AssemblyAI v3 endpoint with the official Python SDK
(1.8.x).

Usage: python assemblyai_sdk.py ws://127.0.0.1:PORT [fixture.wav]
Prints each turn; exits 1 unless at least one non-empty end-of-turn arrived.
A manual check of the mock (scripts/sdk-check/README.md), not part of CI.
"""
import sys
import wave

from assemblyai.streaming.v3 import (RealTimeEvents, RealTimeParameters, RealTimeTranscriber,
                                     RealTimeTranscriberOptions)

url = sys.argv[1]
fixture = sys.argv[2] if len(sys.argv) > 2 else "fixtures/speech-16bit-16000Hz-mono.wav"
finals = []
errors = []


def on_turn(_client, turn):
    print(("final:  " if turn.end_of_turn else "partial:"), turn.turn_order, turn.transcript, flush=True)
    if turn.end_of_turn and turn.transcript:
        finals.append(turn.transcript)


client = RealTimeTranscriber(RealTimeTranscriberOptions(api_key="sdk-check-key", api_host=url))
client.on(RealTimeEvents.Begin, lambda _c, e: print("begin:  ", e.id, e.expires_at, flush=True))
client.on(RealTimeEvents.Turn, on_turn)
client.on(RealTimeEvents.Termination,
          lambda _c, e: print("termination: audio s", e.audio_duration_seconds, flush=True))
client.on(RealTimeEvents.Error, lambda _c, e: (errors.append(e), print("error:  ", e, flush=True)))

with wave.open(fixture, "rb") as wav:
    pcm = wav.readframes(wav.getnframes())
chunk = 1600  # 50 ms at 16 kHz s16le mono: inside AssemblyAI's 50-1000 ms rule
pcm += b"\0" * (-len(pcm) % chunk)

client.connect(RealTimeParameters(sample_rate=16000, encoding="pcm_s16le",
                                  speech_model="universal-streaming-english", format_turns=True))
client.stream(pcm[i:i + chunk] for i in range(0, len(pcm), chunk))
client.force_endpoint()
client.disconnect(terminate=True)

print("finals:", finals, "errors:", errors, flush=True)
sys.exit(0 if finals and not errors else 1)
