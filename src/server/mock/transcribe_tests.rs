//! Transcriber tests on generated audio: tone bursts are speech, zeros are silence.

use super::*;

/// Seed for the split-invariance test's chunk sizes.
const SPLIT_SEED: u64 = 0x5EED_0F5A_1100;

const RATE: u32 = 16_000;

/// s16le mono PCM: each `(ms, amplitude)` is a 200 Hz tone (0.0 = silence).
fn pcm(segments: &[(u64, f32)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut n = 0u64;
    for &(ms, amplitude) in segments {
        for _ in 0..ms * u64::from(RATE) / 1000 {
            let phase = n as f32 * 200.0 * std::f32::consts::TAU / RATE as f32;
            let sample = (phase.sin() * amplitude * 32_767.0) as i16;
            out.extend_from_slice(&sample.to_le_bytes());
            n += 1;
        }
    }
    out
}

fn run(bytes: &[u8]) -> Vec<Output> {
    let mut t = Transcriber::new(TranscriberConfig::default(), RATE, 1);
    let mut out = Vec::new();
    t.push(bytes, &mut out);
    out
}

fn finals(out: &[Output]) -> Vec<(&Span, Cause)> {
    out.iter()
        .filter_map(|o| if let Output::Final(s, c) = o { Some((s, *c)) } else { None })
        .collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn silence_and_quiet_noise_produce_nothing() {
    assert!(run(&pcm(&[(2000, 0.0)])).is_empty());
    assert!(run(&pcm(&[(2000, 0.01)])).is_empty(), "below the 0.02 RMS threshold");
}

#[test]
fn a_pause_ends_the_sentence_the_words_heard_began() {
    let out = run(&pcm(&[(1000, 0.5), (500, 0.0)]));
    assert_eq!(out[0], Output::SpeechStarted(Duration::ZERO));
    let finals = finals(&out);
    assert_eq!(finals.len(), 1);
    let (span, cause) = finals[0];
    assert_eq!(cause, Cause::Endpoint);
    assert_eq!(span.text(), "The quick brown fox jumps over the lazy dog.");
    // 300 ms per word heard; the last 100 ms run still counts (≥ MIN_WORD) and shares
    // its time with the five words the audio was too short for.
    let bounds: Vec<_> = span.words.iter().map(|w| (w.start, w.end)).collect();
    let mut expected = vec![(ms(0), ms(300)), (ms(300), ms(600)), (ms(600), ms(900))];
    expected.extend((0..6).map(|i| {
        let at = |i: u32| Duration::from_millis(900) + Duration::from_millis(100) * i / 6;
        (at(i), at(i + 1))
    }));
    assert_eq!(bounds, expected);
    assert!(span.words.iter().all(|w| w.is_final));
    // The final fires once 300 ms of silence follow the last voiced frame.
    assert_eq!((span.start, span.end), (ms(0), ms(1300)));
}

#[test]
fn the_speech_fixture_is_heard_as_its_two_sentences() {
    // Its second sentence has five words but about four words' worth of voiced audio
    // ("at" is quiet and short): the pause after it completes the sentence.
    let format = crate::encode::AudioFormat::PIPELINE;
    let samples = crate::signal::speech(format).unwrap();
    let bytes: Vec<u8> =
        samples.iter().flat_map(|x| ((x * 32_767.0) as i16).to_le_bytes()).collect();
    let mut t = Transcriber::new(TranscriberConfig::default(), RATE, 1);
    let mut out = Vec::new();
    t.push(&bytes, &mut out);
    t.finish(&mut out);
    let texts: Vec<_> = finals(&out).iter().map(|(s, _)| s.text()).collect();
    assert_eq!(texts, FIXTURE_SCRIPT.split_inclusive(". ").map(str::trim).collect::<Vec<_>>());
}

#[test]
fn first_partial_holds_the_word_being_spoken() {
    let out = run(&pcm(&[(250, 0.5)]));
    let Some(Output::Partial(span)) = out.get(1) else { panic!("no partial: {out:?}") };
    assert_eq!(span.end, ms(200));
    assert_eq!(span.words.len(), 1);
    assert_eq!((span.words[0].text.as_str(), span.words[0].is_final), ("The", false));
}

#[test]
fn partials_arrive_at_the_configured_cadence() {
    let out = run(&pcm(&[(1000, 0.5)]));
    let ends: Vec<_> = out
        .iter()
        .filter_map(|o| if let Output::Partial(s) = o { Some(s.end) } else { None })
        .collect();
    assert_eq!(ends, [ms(200), ms(400), ms(600), ms(800), ms(1000)]);
}

#[test]
fn flush_finalizes_what_was_heard_and_the_sentence_goes_on() {
    let mut t = Transcriber::new(TranscriberConfig::default(), RATE, 1);
    let mut out = Vec::new();
    t.push(&pcm(&[(450, 0.5)]), &mut out);
    out.clear();
    t.flush(&mut out);
    let flushed = finals(&out);
    assert_eq!(flushed.len(), 1);
    assert_eq!((flushed[0].0.text(), flushed[0].1), ("The quick".to_string(), Cause::Forced));
    out.clear();
    t.flush(&mut out);
    assert!(out.is_empty(), "nothing left to finalize");
    // The next utterance takes the sentence up where the flush left it, and its pause
    // completes it.
    t.push(&pcm(&[(300, 0.5), (400, 0.0)]), &mut out);
    let texts: Vec<_> = finals(&out).iter().map(|(s, c)| (s.text(), *c)).collect();
    assert_eq!(texts, [("brown fox jumps over the lazy dog.".to_string(), Cause::Endpoint)]);
}

#[test]
fn the_end_of_the_stream_completes_the_sentence() {
    let mut t = Transcriber::new(TranscriberConfig::default(), RATE, 1);
    let mut out = Vec::new();
    t.push(&pcm(&[(300, 0.5)]), &mut out);
    out.clear();
    t.finish(&mut out);
    let texts: Vec<_> = finals(&out).iter().map(|(s, c)| (s.text(), *c)).collect();
    let sentence = "The quick brown fox jumps over the lazy dog.".to_string();
    assert_eq!(texts, [(sentence, Cause::EndOfStream)]);
}

#[test]
fn two_utterances_are_two_sentences() {
    let out = run(&pcm(&[(300, 0.5), (400, 0.0), (300, 0.5), (400, 0.0), (300, 0.5), (400, 0.0)]));
    let texts: Vec<_> = finals(&out).iter().map(|(s, _)| s.text()).collect();
    assert_eq!(
        texts,
        [
            "The quick brown fox jumps over the lazy dog.",
            "Call me back at five.",
            "The quick brown fox jumps over the lazy dog."
        ]
    );
}

#[test]
fn long_speech_runs_on_into_the_next_sentence() {
    // 3.3 s without a pause: eleven words, two past the first sentence, so the pause
    // completes the second one.
    let out = run(&pcm(&[(3300, 0.5), (400, 0.0)]));
    let texts: Vec<_> = finals(&out).iter().map(|(s, _)| s.text()).collect();
    assert_eq!(texts, [FIXTURE_SCRIPT]);
}

#[test]
fn clicks_open_no_final() {
    let out = run(&pcm(&[(30, 0.5), (400, 0.0)]));
    assert_eq!(out, [Output::SpeechStarted(Duration::ZERO)]);
}

#[test]
fn a_script_is_cut_into_sentences_at_their_punctuation_and_its_end() {
    let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        sentences(&words("a b. c? d e! f g")),
        [words("a b."), words("c?"), words("d e!"), words("f g")]
    );
    assert!(sentences(&[]).is_empty());
    let t =
        Transcriber::new(TranscriberConfig { script: Vec::new(), ..Default::default() }, RATE, 1);
    assert_eq!(t.sentences, sentences(&TranscriberConfig::default().script), "empty → default");
}

#[test]
fn result_does_not_depend_on_how_the_bytes_are_split() {
    let bytes = pcm(&[(700, 0.5), (60, 0.0), (900, 0.3), (800, 0.0), (333, 0.6)]);
    let whole = run(&bytes);
    let mut state = SPLIT_SEED;
    for round in 0..20 {
        let mut t = Transcriber::new(TranscriberConfig::default(), RATE, 1);
        let mut out = Vec::new();
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            // xorshift64: a seeded, dependency-free source of chunk sizes 1..=4001 bytes.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let n = (1 + state % 4001) as usize;
            let (head, tail) = rest.split_at(n.min(rest.len()));
            t.push(head, &mut out);
            rest = tail;
        }
        assert_eq!(out, whole, "round {round}, seed {SPLIT_SEED:#x}");
    }
}

#[test]
fn stereo_is_heard_as_one_stream() {
    let mono = pcm(&[(600, 0.5), (400, 0.0)]);
    let stereo: Vec<u8> = mono.chunks_exact(2).flat_map(|s| [s[0], s[1], s[0], s[1]]).collect();
    let mut t = Transcriber::new(TranscriberConfig::default(), RATE, 2);
    let mut out = Vec::new();
    t.push(&stereo, &mut out);
    assert_eq!(out, run(&mono));
}
