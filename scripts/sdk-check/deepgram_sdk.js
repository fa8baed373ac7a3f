// Streams the speech fixture to a Deepgram endpoint with the official Node SDK
// (@deepgram/sdk 5.x).
//
// Usage: node deepgram_sdk.js ws://127.0.0.1:PORT [fixture.wav]
// Prints each transcript; exits 1 unless at least one non-empty final arrived.
// A manual check of the mock (scripts/sdk-check/README.md), not part of CI.
const fs = require("fs");
const { DeepgramClient } = require("@deepgram/sdk");

const [url, fixture = "fixtures/speech-16bit-16000Hz-mono.wav"] = process.argv.slice(2);
const finals = [];

async function main() {
  const client = new DeepgramClient({ apiKey: "sdk-check-key", baseUrl: url });
  const conn = await client.listen.v1.connect({
    model: "nova-3", encoding: "linear16", sample_rate: 16000, channels: 1,
    interim_results: "true", endpointing: 300, utterance_end_ms: 1000, vad_events: "true",
    reconnectAttempts: 0, // the SDK otherwise reconnects up to 30 times on close != 1000
  });
  const closed = new Promise((resolve) => conn.on("close", (e) => {
    console.log("close:  ", e.code, e.reason);
    resolve();
  }));
  conn.on("message", (m) => {
    if (m.type !== "Results") return console.log("event:  ", m.type);
    const text = m.channel.alternatives[0].transcript;
    console.log(m.is_final ? "final:  " : "partial:", text);
    if (m.is_final && text) finals.push(text);
  });
  conn.connect();
  await conn.waitForOpen();
  // Skip the 44-byte WAV header: the fixture is canonical PCM WAV.
  const pcm = fs.readFileSync(fixture).subarray(44);
  for (let i = 0; i < pcm.length; i += 3200) conn.sendMedia(pcm.subarray(i, i + 3200));
  conn.sendFinalize({ type: "Finalize" });
  conn.sendCloseStream({ type: "CloseStream" });
  await Promise.race([closed, new Promise((r) => setTimeout(r, 10000))]);
  console.log("finals:", JSON.stringify(finals));
  process.exit(finals.length ? 0 : 1);
}

main().catch((e) => { console.error(e); process.exit(1); });
