// Streams the speech fixture to an AssemblyAI v3 endpoint with the official Node SDK
// (assemblyai 4.x). The SDK accepts only wss://, so run the mock with --tls and start
// node with NODE_EXTRA_CA_CERTS=<the mock's certificate>.
//
// Usage: node assemblyai_sdk.js wss://localhost:PORT [fixture.wav]
// Prints each turn; exits 1 unless at least one non-empty end-of-turn arrived.
// A manual check of the mock (scripts/sdk-check/README.md), not part of CI.
const fs = require("fs");
const { AssemblyAI } = require("assemblyai");

const [url, fixture = "fixtures/speech-16bit-16000Hz-mono.wav"] = process.argv.slice(2);
const finals = [];

async function main() {
  const client = new AssemblyAI({ apiKey: "sdk-check-key" });
  const rt = client.streaming.transcriber({
    websocketBaseUrl: `${url}/v3/ws`, sampleRate: 16000, encoding: "pcm_s16le",
    speechModel: "universal-streaming-english", formatTurns: true,
    connectTimeout: 5000, maxConnectionRetries: 0,
  });
  rt.on("open", (b) => console.log("begin:  ", b.id));
  rt.on("turn", (t) => {
    console.log(t.end_of_turn ? "final:  " : "partial:", t.turn_order, t.transcript);
    if (t.end_of_turn && t.transcript) finals.push(t.transcript);
  });
  rt.on("close", (code, reason) => console.log("close:  ", code, reason));
  rt.on("error", (e) => console.error("error:  ", e));
  await rt.connect();
  const pcm = fs.readFileSync(fixture).subarray(44);
  const chunk = 1600; // 50 ms: inside AssemblyAI's 50-1000 ms rule
  const padded = Buffer.concat([pcm, Buffer.alloc((chunk - (pcm.length % chunk)) % chunk)]);
  for (let i = 0; i < padded.length; i += chunk) rt.sendAudio(padded.subarray(i, i + chunk));
  rt.forceEndpoint();
  await rt.close();
  console.log("finals:", JSON.stringify(finals));
  process.exit(finals.length ? 0 : 1);
}

main().catch((e) => { console.error(e); process.exit(1); });
