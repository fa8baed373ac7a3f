//! The stall watchdog: tells a server that stopped reading or answering from one that is
//! only quiet.
//!
//! Loopback socket buffers hold megabytes (minutes of 16 kHz audio), so "writes back up"
//! alone shows a stalled server late, or, for a short stream, never. Two signs are
//! watched instead, each against the stall window:
//!
//! - **not reading**: one write has waited the whole window (the buffers are full);
//! - **not answering**: the server has been silent the whole window since something was
//!   written that it owes an answer to. Silence in the audio is not a stall: after half
//!   the window the driver sends a WebSocket ping, which any live server answers whether
//!   or not it has words to send (pongs are read by the session). A ping left unanswered
//!   also turns a close timeout into a stall: the server did not close because it is gone.
//!
//! The watchdog reads no clock and does no I/O: the loop passes instants and asks it for
//! its next deadline.

use std::time::Duration;

use tokio::time::Instant;

use super::outcome::{Phase, Stall, StallKind};

/// What the watchdog wants done now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing yet.
    Quiet,
    /// Send a probe ping.
    Probe,
    /// The server has stalled.
    Stalled(Stall),
}

#[derive(Debug)]
pub(crate) struct Watchdog {
    window: Option<Duration>,
    /// When the server last sent anything.
    heard: Instant,
    /// Since when the server has owed an answer, and the audio sent by then: the first
    /// write it has not caught up with.
    owed: Option<(Instant, Duration)>,
    /// The last write, and the audio sent by then.
    last_write: Option<(Instant, Duration)>,
    /// A probe has gone out since the server last spoke.
    probed: bool,
    /// The audio the server has answered up to: the end of its last transcript, or of the
    /// last chunk it echoed.
    answered: Duration,
}

impl Watchdog {
    pub(crate) fn new(window: Option<Duration>, opened: Instant) -> Self {
        Watchdog {
            window,
            heard: opened,
            owed: None,
            last_write: None,
            probed: false,
            answered: Duration::ZERO,
        }
    }

    /// Something went out at `at`, with `audio_sent` written by then.
    pub(crate) fn wrote(&mut self, at: Instant, audio_sent: Duration) {
        self.owed.get_or_insert((at, audio_sent));
        self.last_write = Some((at, audio_sent));
    }

    /// A probe went out.
    pub(crate) fn probed(&mut self) {
        self.probed = true;
    }

    /// The server spoke at `at`; `answered` is the audio its message covers, if it says.
    ///
    /// It has caught up, and owes nothing, only once it has spoken after the last write
    /// and its answers reach the audio written by then: a reply to the first second of
    /// a stream written whole in a millisecond says nothing about the other seconds.
    /// A server that cannot cover the audio (trailing silence no transcript reaches) stays
    /// owing, and is probed whenever it is silent for half the window; its pongs keep it
    /// from being called stalled.
    pub(crate) fn heard(&mut self, at: Instant, answered: Option<Duration>) {
        if at > self.heard {
            self.heard = at;
            self.probed = false;
        }
        if let Some(answered) = answered {
            self.answered = self.answered.max(answered);
        }
        let caught_up = self
            .last_write
            .is_none_or(|(wrote, audio)| self.heard >= wrote && self.answered >= audio);
        if caught_up {
            self.owed = None;
        }
    }

    /// Since when the server has been silent while owing an answer, if it owes one.
    fn silent_since(&self) -> Option<Instant> {
        self.owed.map(|(since, _)| since.max(self.heard))
    }

    /// When the watchdog next needs a look, given a write pending `since`.
    pub(crate) fn deadline(&self, writing_since: Option<Instant>) -> Option<Instant> {
        let window = self.window?;
        let blocked = writing_since.map(|since| since + window);
        // Half the window of silence earns a probe; the whole window, a stall.
        let owed =
            self.silent_since().map(|since| since + if self.probed { window } else { window / 2 });
        blocked.into_iter().chain(owed).min()
    }

    /// The verdict at `now`, with a write pending `since` (if any) after `audio_sent`.
    pub(crate) fn check(
        &self,
        now: Instant,
        writing_since: Option<Instant>,
        audio_sent: Duration,
        phase: Phase,
    ) -> Verdict {
        let Some(window) = self.window else { return Verdict::Quiet };
        let stall = |kind, waited, audio_sent| Stall {
            kind,
            waited,
            audio_sent,
            answered: self.answered,
            phase,
        };
        if let Some(since) = writing_since.filter(|&since| now >= since + window) {
            return Verdict::Stalled(stall(StallKind::NotReading, now - since, audio_sent));
        }
        match (self.owed, self.silent_since()) {
            (Some((_, audio)), Some(silent)) if now >= silent + window => {
                let waited = now.saturating_duration_since(self.heard);
                Verdict::Stalled(stall(StallKind::NotAnswering, waited, audio))
            }
            (_, Some(silent)) if now >= silent + window / 2 && !self.probed => Verdict::Probe,
            _ => Verdict::Quiet,
        }
    }

    /// At a close timeout: a stall if a probe went unanswered (the server is gone, not
    /// slow to close).
    pub(crate) fn unanswered(&self, now: Instant, phase: Phase) -> Option<Stall> {
        let (_, audio_sent) = self.owed.filter(|_| self.probed)?;
        Some(Stall {
            kind: StallKind::NotAnswering,
            waited: now.saturating_duration_since(self.heard),
            audio_sent,
            answered: self.answered,
            phase,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn silence_earns_a_probe_then_a_stall_and_any_answer_clears_it() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(Some(s(4)), t0);
        assert_eq!(dog.deadline(None), None, "nothing owed");
        dog.wrote(t0 + s(1), s(1));
        dog.wrote(t0 + s(2), s(2));
        assert_eq!(dog.deadline(None), Some(t0 + s(3)), "a probe after half the window");
        assert_eq!(dog.check(t0 + s(3), None, s(3), Phase::Streaming), Verdict::Probe);
        dog.probed();
        assert_eq!(dog.deadline(None), Some(t0 + s(5)));
        let Verdict::Stalled(stall) = dog.check(t0 + s(5), None, s(5), Phase::Streaming) else {
            panic!("no stall")
        };
        assert_eq!(
            (stall.kind, stall.waited, stall.audio_sent),
            (StallKind::NotAnswering, s(5), s(1))
        );
        // A pong (or any frame) after the first unanswered write clears everything.
        dog.heard(t0 + s(4), Some(Duration::from_millis(900)));
        assert_eq!(dog.check(t0 + s(5), None, s(5), Phase::Streaming), Verdict::Quiet);
        assert_eq!(dog.answered, Duration::from_millis(900));
        assert_eq!(dog.unanswered(t0 + s(5), Phase::Closing), None);
    }

    #[test]
    fn an_answer_to_early_audio_does_not_cover_what_was_written_after_it() {
        // An unpaced stream: 5 s of audio and the close written within a millisecond;
        // the server answers the first second late (a loaded machine), then stops.
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut dog = Watchdog::new(Some(s(1)), t0);
        dog.wrote(t0, ms(100));
        dog.wrote(t0 + ms(1), s(5));
        dog.heard(t0 + ms(300), Some(s(1)));
        assert_eq!(dog.deadline(None), Some(t0 + ms(800)), "still owed: probe after 500 ms");
        assert_eq!(dog.check(t0 + ms(800), None, s(5), Phase::Closing), Verdict::Probe);
        dog.probed();
        let Verdict::Stalled(stall) = dog.check(t0 + ms(1_300), None, s(5), Phase::Closing) else {
            panic!("no stall")
        };
        assert_eq!(
            (stall.kind, stall.waited, stall.answered),
            (StallKind::NotAnswering, s(1), s(1))
        );
        // Answers that reach everything written clear the debt.
        dog.heard(t0 + ms(1_200), Some(s(5)));
        assert_eq!(dog.deadline(None), None);
    }

    #[test]
    fn a_write_that_waits_the_window_is_a_server_that_stopped_reading() {
        let t0 = Instant::now();
        let dog = Watchdog::new(Some(s(2)), t0);
        assert_eq!(dog.deadline(Some(t0 + s(1))), Some(t0 + s(3)));
        let Verdict::Stalled(stall) = dog.check(t0 + s(3), Some(t0 + s(1)), s(7), Phase::Streaming)
        else {
            panic!("no stall")
        };
        assert_eq!(
            (stall.kind, stall.waited, stall.audio_sent),
            (StallKind::NotReading, s(2), s(7))
        );
        let off = Watchdog::new(None, t0);
        assert_eq!(off.deadline(Some(t0)), None);
        assert_eq!(off.check(t0 + s(100), Some(t0), s(1), Phase::Streaming), Verdict::Quiet);
    }

    #[test]
    fn an_unanswered_probe_turns_a_close_timeout_into_a_stall() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(Some(s(4)), t0);
        dog.wrote(t0, s(5));
        assert_eq!(dog.unanswered(t0 + s(5), Phase::Closing), None, "no probe yet: just slow");
        dog.probed();
        let stall = dog.unanswered(t0 + s(5), Phase::Closing).expect("a stall");
        assert_eq!(
            (stall.kind, stall.waited, stall.phase),
            (StallKind::NotAnswering, s(5), Phase::Closing)
        );
    }
}
