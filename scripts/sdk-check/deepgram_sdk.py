"""Streams the speech fixture to a Deepgram endpoint with the official Python SDK (7.x).

Usage: python deepgram_sdk.py ws://127.0.0.1:PORT [fixture.wav]
Prints each transcript; exits 1 unless at least one non-empty final arrived.
A manual check of the mock (scripts/sdk-check/README.md), not part of CI.
"""
import sys
import threading
import wave

from deepgram import DeepgramClient, DeepgramClientEnvironment
from deepgram.core.events import EventType
from deepgram.listen.v1.types import ListenV1Results

url = sys.argv[1]
fixture = sys.argv[2] if len(sys.argv) > 2 else "fixtures/speech-16bit-16000Hz-mono.wav"
finals = []

env = DeepgramClientEnvironment(base=url.replace("ws", "http", 1), production=url, agent=url,
                                agent_rest=url.replace("ws", "http", 1))
client = DeepgramClient(api_key="sdk-check-key", environment=env)


def on_message(message):
    if isinstance(message, ListenV1Results):
        text = message.channel.alternatives[0].transcript
        print(("final:  " if message.is_final else "partial:"), text, flush=True)
        if message.is_final and text:
            finals.append(text)
    else:
        print("event:  ", type(message).__name__, flush=True)


with wave.open(fixture, "rb") as wav:
    pcm = wav.readframes(wav.getnframes())

with client.listen.v1.connect(model="nova-3", encoding="linear16", sample_rate=16000, channels=1,
                              interim_results=True, endpointing=300, utterance_end_ms=1000,
                              vad_events=True) as conn:
    conn.on(EventType.MESSAGE, on_message)
    listener = threading.Thread(target=conn.start_listening, daemon=True)
    listener.start()
    chunk = 3200  # 100 ms at 16 kHz s16le mono
    for i in range(0, len(pcm), chunk):
        conn.send_media(pcm[i:i + chunk])
    conn.send_finalize()
    conn.send_close_stream()
    listener.join(timeout=10)

print("finals:", finals, flush=True)
sys.exit(0 if finals else 1)
