//! Voice activity and utterance tests on generated audio: tone bursts are speech, zeros
//! are silence.

use super::*;

/// Seed for the split-invariance test's piece sizes.
const SPLIT_SEED: u64 = 0x5EED_0F5A_D000;

const RATE: u32 = 16_000;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Mono f32 audio: each `(ms, amplitude)` is a 200 Hz tone (0.0 = silence).
fn audio(segments: &[(u64, f32)]) -> Vec<f32> {
    let mut out = Vec::new();
    for &(ms, amplitude) in segments {
        for _ in 0..ms * u64::from(RATE) / 1000 {
            let phase = out.len() as f32 * 200.0 * std::f32::consts::TAU / RATE as f32;
            out.push(phase.sin() * amplitude);
        }
    }
    out
}

fn s16le(samples: &[f32]) -> Vec<u8> {
    samples.iter().flat_map(|x| ((x * 32_767.0) as i16).to_le_bytes()).collect()
}

fn frames_f32(samples: &[f32]) -> Vec<Frame> {
    let mut frames = Vec::new();
    Vad::new(AudioFormat::PIPELINE, THRESHOLD).push_f32(samples, |f| frames.push(f));
    frames
}

fn activity(samples: &[f32], pause: Duration) -> Vec<Activity> {
    let mut utterances = Utterances::new(pause);
    frames_f32(samples).into_iter().filter_map(|f| utterances.frame(f)).collect()
}

#[test]
fn frames_are_10_ms_and_voiced_above_the_threshold() {
    let frames = frames_f32(&audio(&[(30, 0.5), (20, 0.0), (20, 0.01)]));
    let voiced: Vec<_> = frames.iter().map(|f| f.voiced).collect();
    assert_eq!(voiced, [true, true, true, false, false, false, false], "0.01 is below 0.02");
    assert_eq!((frames[3].start, frames[3].end), (ms(30), ms(40)));
}

#[test]
fn frame_times_are_exact_at_rates_that_are_not_a_multiple_of_100() {
    let format = AudioFormat::new(44_100, 1).unwrap();
    let mut vad = Vad::new(format, THRESHOLD);
    let mut last = None;
    vad.push_f32(&vec![0.0; 44_100 * 60], |f| last = Some(f));
    assert_eq!(last.unwrap().end, Duration::from_secs(60), "no drift over a minute");
    assert_eq!(vad.position(), Duration::from_secs(60));
}

#[test]
fn s16le_split_anywhere_gives_the_same_frames() {
    let bytes = s16le(&audio(&[(700, 0.5), (60, 0.0), (900, 0.3), (800, 0.0), (333, 0.6)]));
    let judge = |pieces: &mut dyn Iterator<Item = &[u8]>| {
        let mut vad = Vad::new(AudioFormat::PIPELINE, THRESHOLD);
        let mut frames = Vec::new();
        for piece in pieces {
            vad.push_s16le(piece, |f| frames.push(f));
        }
        frames
    };
    let whole = judge(&mut std::iter::once(bytes.as_slice()));
    assert_eq!(whole.len(), 279);
    let mut state = SPLIT_SEED;
    for round in 0..20 {
        let mut rest = bytes.as_slice();
        let mut pieces = Vec::new();
        while !rest.is_empty() {
            // xorshift64: a seeded, dependency-free source of sizes 1..=4001, odd ones too.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let (head, tail) = rest.split_at(((1 + state % 4001) as usize).min(rest.len()));
            pieces.push(head);
            rest = tail;
        }
        assert_eq!(judge(&mut pieces.into_iter()), whole, "round {round}, seed {SPLIT_SEED:#x}");
    }
}

#[test]
fn stereo_is_judged_over_both_channels() {
    let format = AudioFormat::new(RATE, 2).unwrap();
    // Left loud, right silent: the RMS over both is 0.5 / 2 = 0.25, above the threshold.
    let stereo: Vec<f32> = audio(&[(100, 0.5)]).iter().flat_map(|&x| [x, 0.0]).collect();
    let mut frames = Vec::new();
    Vad::new(format, THRESHOLD).push_f32(&stereo, |f| frames.push(f));
    assert_eq!(frames.len(), 10);
    assert!(frames.iter().all(|f| f.voiced));
}

#[test]
fn an_utterance_starts_at_the_first_voiced_frame_and_ends_after_the_pause() {
    let got = activity(&audio(&[(100, 0.0), (400, 0.5), (500, 0.0)]), ms(300));
    let speech = Speech { start: ms(100), end: ms(500) };
    assert_eq!(got, [Activity::Started(ms(100)), Activity::Ended(Some(speech))]);
}

#[test]
fn gaps_shorter_than_the_pause_stay_in_one_utterance() {
    let got = activity(&audio(&[(200, 0.5), (200, 0.0), (200, 0.5), (400, 0.0)]), ms(300));
    let speech = Speech { start: ms(0), end: ms(600) };
    assert_eq!(got, [Activity::Started(ms(0)), Activity::Ended(Some(speech))]);
}

#[test]
fn clicks_open_an_utterance_but_are_not_speech() {
    // 30 ms of tone: shorter than MIN_RUN.
    let got = activity(&audio(&[(30, 0.5), (400, 0.0)]), ms(300));
    assert_eq!(got, [Activity::Started(ms(0)), Activity::Ended(None)]);
    // A click after speech does not move where the speech ends, but it does delay the end
    // of the utterance: the pause counts from it.
    let got = activity(&audio(&[(200, 0.5), (100, 0.0), (30, 0.5), (300, 0.0)]), ms(300));
    let speech = Speech { start: ms(0), end: ms(200) };
    assert_eq!(got, [Activity::Started(ms(0)), Activity::Ended(Some(speech))]);
}

#[test]
fn runs_split_by_less_than_min_run_count_together() {
    // Two 30 ms bursts 20 ms apart: one 60 ms run, so speech.
    let got = activity(&audio(&[(30, 0.5), (20, 0.0), (30, 0.5), (400, 0.0)]), ms(300));
    let speech = Speech { start: ms(0), end: ms(80) };
    assert_eq!(got, [Activity::Started(ms(0)), Activity::Ended(Some(speech))]);
    // 60 ms apart: two 30 ms runs, neither speech.
    let got = activity(&audio(&[(30, 0.5), (60, 0.0), (30, 0.5), (400, 0.0)]), ms(300));
    assert_eq!(got, [Activity::Started(ms(0)), Activity::Ended(None)]);
}

#[test]
fn the_pause_is_at_least_min_run_and_can_change_mid_stream() {
    let mut utterances = Utterances::new(Duration::ZERO);
    let mut got = Vec::new();
    let samples = audio(&[(100, 0.5), (40, 0.0), (100, 0.5), (60, 0.0)]);
    for frame in frames_f32(&samples) {
        got.extend(utterances.frame(frame));
    }
    let speech = Speech { start: ms(0), end: ms(240) };
    assert_eq!(got, [Activity::Started(ms(0)), Activity::Ended(Some(speech))], "40 ms < 50 ms");

    let mut utterances = Utterances::new(ms(1_000));
    let frames = frames_f32(&audio(&[(100, 0.5), (400, 0.0)]));
    let (head, tail) = frames.split_at(20);
    assert_eq!(head.iter().filter_map(|&f| utterances.frame(f)).count(), 1, "started");
    utterances.set_pause(ms(200));
    let ended: Vec<_> = tail.iter().filter_map(|&f| utterances.frame(f)).collect();
    assert_eq!(ended, [Activity::Ended(Some(Speech { start: ms(0), end: ms(100) }))]);
}

#[test]
fn speech_ends_are_found_in_the_audio() {
    let format = AudioFormat::PIPELINE;
    // Speech, a 100 ms gap (between words), speech, a 500 ms pause, speech to the end.
    let samples = audio(&[(400, 0.5), (100, 0.0), (300, 0.5), (500, 0.0), (200, 0.5)]);
    assert_eq!(speech_ends(&samples, format, ms(300)), [ms(800), ms(1_500)]);
    assert!(speech_ends(&audio(&[(1_000, 0.0)]), format, ms(300)).is_empty());
    let fixture = crate::signal::speech(format).unwrap();
    assert_eq!(speech_ends(&fixture, format, ms(300)).len(), 2, "two sentences");
}
