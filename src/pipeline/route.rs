//! From what a user asks for to streaming runs: the decisions `sttbench stream` used to
//! make itself, here so that tests reach them and the binary only parses and prints.
//!
//! - **Who**: the echo socket, or one or more providers (several run one after the other
//!   and are read side by side); echo cannot be mixed with providers.
//! - **Where**: the provider's production endpoint, a URL (one server, so one peer), or a
//!   local mock started for the run (`--mock`; for echo, an echo socket).
//! - **Defaults by peer**: 20 ms chunks for echo (the frame a voice app captures), 100 ms
//!   for providers (Deepgram's recommended size, inside AssemblyAI's 50–1000 ms); the
//!   source's natural length (see [`Source`]); one connect attempt for providers (a
//!   measurement that silently retried would measure the retries).
//! - **Usage errors** ([`crate::Error::Usage`]): flags that do not go together, a chunk
//!   a provider refuses. Keys come from the environment only; a local target without one
//!   gets a placeholder, since mocks accept any key.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use super::local::{Apart, Local, start_peer};
use super::measure::measured;
use super::summary::Summary;
use super::{PipelineOptions, PipelineRun, Timeline, Transit, speech_ends};
use crate::Error;
use crate::encode::AudioFormat;
use crate::provider::{ApiKey, Credential, Dialect, Echo, Hosted};
use crate::server::ServerHandle;
use crate::server::shaper::Profile;
use crate::session::trust_pem;
use crate::stream::{
    Audio, Control, Driver, Observer, Pacer, Recorder, Source, Stop, StreamConfig, TokioPacer,
};

/// What a local target without a key in the environment is sent. Mocks accept any
/// non-empty key; a real service answers it with its auth error.
pub const PLACEHOLDER_KEY: &str = "sttbench-local-placeholder";

/// Chunk duration for echo runs unless one is given: 20 ms, the frame voice apps capture.
pub const ECHO_CHUNK: Duration = Duration::from_millis(20);

/// Chunk duration for provider runs unless one is given: 100 ms.
pub const PROVIDER_CHUNK: Duration = Duration::from_millis(100);

/// Who a run streams to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    /// An echo socket: every frame comes back, so round trips are measured.
    Echo,
    /// A speech-to-text provider, or its mock.
    Provider(Hosted),
}

impl FromStr for Peer {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "echo" => Ok(Peer::Echo),
            other => other
                .parse()
                .map(Peer::Provider)
                .map_err(|_| format!("unknown peer `{s}`; expected echo, deepgram or assemblyai")),
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Echo => f.write_str("echo"),
            Peer::Provider(hosted) => write!(f, "{hosted}"),
        }
    }
}

/// Where sessions go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The provider's production endpoint; needs its API key in the environment.
    Production,
    /// A server at this `ws://` or `wss://` URL (a mock started elsewhere, a proxy).
    Url(String),
    /// A mock of the provider (or an echo socket), on 127.0.0.1 for the run: answering at
    /// once when unpaced, after the provider's published delay in real time.
    Mock,
}

/// What a user asked `sttbench stream` for. Build it with [`Request::new`] and the
/// by-value setters; [`plan`](Self::plan) checks it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Request {
    peers: Vec<Peer>,
    url: Option<String>,
    mock: bool,
    source: Source,
    chunk: Option<Duration>,
    duration: Option<Duration>,
    ca_cert: Option<PathBuf>,
    stream: StreamConfig,
    profile: Option<Profile>,
    apart: Apart,
}

impl Request {
    /// Streams to `peers`, by default the speech fixture at its natural length, to the
    /// production endpoint (providers), with the default [`StreamConfig`].
    pub fn new(peers: Vec<Peer>) -> Self {
        Request {
            peers,
            url: None,
            mock: false,
            source: Source::default(),
            chunk: None,
            duration: None,
            ca_cert: None,
            stream: StreamConfig::default(),
            profile: None,
            apart: Apart::Shared,
        }
    }

    /// Where the local mock and proxy run: beside the client on the caller's runtime
    /// (default: a paused test clock reaches them), or on a thread of their own so
    /// their work never delays the client's pacer ([`Apart::Thread`]: what
    /// `sttbench stream` and the network benches use).
    pub fn servers(mut self, apart: Apart) -> Self {
        self.apart = apart;
        self
    }

    /// Streams through an impairment proxy with this link profile, started for the run
    /// in front of the mock, the URL or the production endpoint; default none. The
    /// session dials the proxy and verifies the service's own name (see `local.rs`).
    pub fn profile(mut self, profile: Option<Profile>) -> Self {
        self.profile = profile;
        self
    }

    /// The server to stream to instead of the production endpoint (one peer only).
    pub fn url(mut self, url: Option<String>) -> Self {
        self.url = url;
        self
    }

    /// Start a local mock (or echo socket) for each run.
    pub fn mock(mut self, mock: bool) -> Self {
        self.mock = mock;
        self
    }

    /// The audio, and how much of it (`None`: its natural length).
    pub fn source(mut self, source: Source, duration: Option<Duration>) -> Self {
        self.source = source;
        self.duration = duration;
        self
    }

    /// Audio per chunk; default [`ECHO_CHUNK`] or [`PROVIDER_CHUNK`] by peer.
    pub fn chunk(mut self, chunk: Option<Duration>) -> Self {
        self.chunk = chunk;
        self
    }

    /// A PEM file whose certificates `wss://` trusts instead of Mozilla's roots (the one
    /// `sttbench mock --tls` writes).
    pub fn ca_cert(mut self, path: Option<PathBuf>) -> Self {
        self.ca_cert = path;
        self
    }

    /// The driver's settings (pacing, queue, stall window, pauses, session).
    pub fn stream(mut self, config: StreamConfig) -> Self {
        self.stream = config;
        self
    }

    /// Checks the request and resolves its audio.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for peers or flags that do not go together and for a chunk a
    /// provider refuses; the errors of [`Audio::resolve`] (a file that cannot be read, a
    /// duration or chunk out of range) and of [`trust_pem`].
    pub fn plan(self) -> crate::Result<Plan> {
        let usage = |message: &str| Err(Error::Usage(message.into()));
        let Request {
            peers,
            url,
            mock,
            source,
            chunk,
            duration,
            ca_cert,
            mut stream,
            profile,
            apart,
        } = self;
        let echo = peers.contains(&Peer::Echo);
        if peers.is_empty() {
            return usage("name a peer: echo, deepgram or assemblyai");
        }
        if echo && peers.len() > 1 {
            return usage("echo cannot be compared with providers; stream to one or the other");
        }
        if let Some(twice) = peers.iter().enumerate().find(|(i, p)| peers[..*i].contains(p)) {
            return usage(&format!("{} is named twice", twice.1));
        }
        let target = match (url, mock) {
            (Some(_), true) => return usage("--url and --mock exclude each other; give one"),
            (Some(_), false) if peers.len() > 1 => {
                return usage("--url names one server; give one --provider");
            }
            (Some(url), false) => Target::Url(url),
            (None, true) => Target::Mock,
            (None, false) if echo => {
                return usage(
                    "echo needs --url (the URL `sttbench echo` printed), or --mock to start an echo socket for the run",
                );
            }
            (None, false) => Target::Production,
        };
        let chunk = chunk.unwrap_or(if echo { ECHO_CHUNK } else { PROVIDER_CHUNK });
        let mut legs = Vec::with_capacity(peers.len());
        for peer in peers {
            let dialect = dialect(peer, &target);
            dialect.check_chunk(chunk).map_err(|e| Error::Usage(e.to_string().into()))?;
            let url = match (&target, peer) {
                (Target::Url(url), _) => Some(url.clone()),
                (Target::Production, Peer::Provider(hosted)) => {
                    Some(hosted.production_url().into())
                }
                (Target::Mock | Target::Production, _) => None,
            };
            legs.push(Leg { peer, dialect, url });
        }
        if let Some(path) = &ca_cert {
            stream =
                stream.clone().session(stream.get_session().clone().tls(Some(trust_pem(path)?)));
        }
        let audio = Audio::resolve(&source, duration, chunk)?;
        Ok(Plan { legs, source: source.to_string(), audio, stream, profile, apart })
    }
}

/// A checked request, ready to run. See [`Request::plan`].
#[derive(Debug)]
pub struct Plan {
    legs: Vec<Leg>,
    source: String,
    audio: Audio,
    stream: StreamConfig,
    profile: Option<Profile>,
    apart: Apart,
}

/// One run of a plan.
#[derive(Debug)]
struct Leg {
    peer: Peer,
    dialect: Arc<dyn Dialect>,
    /// Where to stream; `None`: a local peer started for the run.
    url: Option<String>,
}

impl Plan {
    /// The peers, in the order they run.
    pub fn peers(&self) -> impl Iterator<Item = Peer> + '_ {
        self.legs.iter().map(|leg| leg.peer)
    }

    /// The audio every run streams.
    pub fn audio(&self) -> &Audio {
        &self.audio
    }

    /// Runs each peer in turn, each watched by a [`Recorder`], a [`Timeline`] for
    /// providers, and the observer `observe` makes for it (a progress bar); stops after a
    /// run that was interrupted. One entry per run started: its summary, or the error
    /// that kept it from starting.
    pub async fn run<F, O>(&self, control: &Control, observe: F) -> Vec<crate::Result<Summary>>
    where
        F: FnMut(Peer) -> O,
        O: Observer,
    {
        self.run_paced(control, observe, |_| TokioPacer).await
    }

    /// [`run`](Self::run) with the pacer `pace` makes for each peer (real-time runs
    /// wait on it; see [`Pacer`]).
    pub async fn run_paced<F, O, G, P>(
        &self,
        control: &Control,
        mut observe: F,
        mut pace: G,
    ) -> Vec<crate::Result<Summary>>
    where
        F: FnMut(Peer) -> O,
        O: Observer,
        G: FnMut(Peer) -> P,
        P: Pacer,
    {
        let mut results = Vec::with_capacity(self.legs.len());
        for leg in &self.legs {
            if control.state() != Stop::Run {
                break;
            }
            let result = self.run_one(leg, control, observe(leg.peer), pace(leg.peer)).await;
            let interrupted =
                matches!(&result, Ok(s) if s.exit_code == crate::stream::exit::INTERRUPTED);
            results.push(result);
            if interrupted {
                break;
            }
        }
        results
    }

    async fn run_one<O: Observer, P: Pacer>(
        &self,
        leg: &Leg,
        control: &Control,
        observer: O,
        pacer: P,
    ) -> crate::Result<Summary> {
        let peer = leg.peer;
        let realtime = self.stream.get_pacing() == crate::stream::Pacing::RealTime;
        let local =
            Local::start(peer, leg.url.as_deref(), realtime, self.profile, self.apart).await?;
        let url = local.url.clone();
        let config = match peer {
            Peer::Echo => self.stream.clone(),
            Peer::Provider(_) => measured(self.stream.clone()),
        };
        let session = config.get_session().clone().connect_to(local.connect_to);
        let config = config.session(session);
        let timeline = match peer {
            Peer::Echo => None,
            Peer::Provider(_) => {
                Some(Timeline::new(speech_ends(self.audio.samples(), AudioFormat::PIPELINE)))
            }
        };
        let transit = Transit::new(local.clock.clone());
        let mut watchers = (Recorder::new(), (timeline, (transit, observer)));
        let driver = Driver::new(url.clone(), Arc::clone(&leg.dialect), config)
            .pacer(pacer)
            .control(control);
        let outcome = driver.run(&self.audio, &mut watchers).await;
        local.shutdown().await;
        let (recorder, (timeline, (transit, _))) = watchers;
        let summary =
            Summary::new(&outcome?, &recorder, timeline.as_ref(), url, self.source.clone());
        Ok(summary.with_transit(&transit))
    }
}

/// The dialect for `peer` at `target`: the key from the environment, or for a local
/// target without one, the placeholder.
fn dialect(peer: Peer, target: &Target) -> Arc<dyn Dialect> {
    match peer {
        Peer::Echo => Arc::new(Echo),
        Peer::Provider(hosted) => {
            let key = match target {
                Target::Production => hosted.key_from_env(),
                Target::Url(_) | Target::Mock => {
                    hosted.key_from_env().or_else(|| Some(ApiKey::new(PLACEHOLDER_KEY)))
                }
            };
            hosted.dialect(key.map(Credential::Key))
        }
    }
}

/// Starts a local peer for one run: an echo socket, or a zero-delay mock of the provider,
/// on 127.0.0.1 with a free port.
///
/// # Errors
///
/// A configuration error naming the provider when the loopback port cannot be bound.
pub async fn start_mock(peer: Peer) -> crate::Result<ServerHandle> {
    start_peer(peer, false, None).await
}

/// One measured session with `provider` at `target` (see [`super::run`]).
///
/// # Errors
///
/// As [`super::run`]; for [`Target::Production`] without a key, a configuration error
/// naming the environment variable to set.
pub async fn run_hosted(
    provider: Hosted,
    target: &Target,
    options: &PipelineOptions,
) -> crate::Result<PipelineRun> {
    let peer = Peer::Provider(provider);
    let dialect = dialect(peer, target);
    match target {
        Target::Production => super::run(provider.production_url(), dialect, options).await,
        Target::Url(url) => super::run(url, dialect, options).await,
        Target::Mock => {
            let server = start_mock(peer).await?;
            let result = super::run(&server.ws_url(), dialect, options).await;
            server.shutdown().await;
            result
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEEPGRAM: Peer = Peer::Provider(Hosted::Deepgram);
    const ASSEMBLYAI: Peer = Peer::Provider(Hosted::AssemblyAi);

    fn usage(request: Request) -> String {
        match request.plan() {
            Err(e @ Error::Usage(_)) => e.to_string(),
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn flags_that_do_not_go_together_are_usage_errors_that_say_what_to_do() {
        let url = || Some("ws://127.0.0.1:1".to_string());
        for (request, says) in [
            (Request::new(vec![]), "name a peer"),
            (Request::new(vec![Peer::Echo, DEEPGRAM]), "echo cannot be compared"),
            (Request::new(vec![DEEPGRAM, DEEPGRAM]), "deepgram is named twice"),
            (Request::new(vec![DEEPGRAM, ASSEMBLYAI]).url(url()), "give one --provider"),
            (Request::new(vec![DEEPGRAM]).url(url()).mock(true), "exclude each other"),
            (Request::new(vec![Peer::Echo]), "echo needs --url"),
            (
                Request::new(vec![ASSEMBLYAI]).mock(true).chunk(Some(Duration::from_millis(20))),
                "50",
            ),
        ] {
            let message = usage(request);
            assert!(message.contains(says), "{says:?} missing from {message}");
        }
        assert!(Error::Usage("x".into()).is_usage());
    }

    #[test]
    fn defaults_depend_on_the_peer() {
        let echo = Request::new(vec![Peer::Echo]).mock(true).plan().unwrap();
        assert_eq!(echo.audio().spec().duration(), ECHO_CHUNK);
        let providers = Request::new(vec![DEEPGRAM, ASSEMBLYAI]).mock(true).plan().unwrap();
        assert_eq!(providers.audio().spec().duration(), PROVIDER_CHUNK);
        assert_eq!(providers.peers().collect::<Vec<_>>(), [DEEPGRAM, ASSEMBLYAI]);
        let fixture = providers.audio().unpadded();
        assert!(
            fixture > Duration::from_secs(5) && fixture < Duration::from_secs(6),
            "{fixture:?}"
        );
        let sine = Request::new(vec![Peer::Echo])
            .url(Some("ws://127.0.0.1:1".into()))
            .source(Source::Signal(crate::signal::Signal::Sine), None)
            .plan()
            .unwrap();
        assert_eq!(sine.audio().duration(), crate::stream::DEFAULT_SIGNAL_DURATION);
    }

    #[test]
    fn peers_parse_and_print_back() {
        for peer in [Peer::Echo, DEEPGRAM, ASSEMBLYAI] {
            assert_eq!(peer.to_string().parse::<Peer>(), Ok(peer));
        }
        assert!("whisper".parse::<Peer>().unwrap_err().contains("echo, deepgram or assemblyai"));
    }

    #[test]
    fn a_missing_ca_certificate_names_the_file() {
        let request = Request::new(vec![DEEPGRAM]).mock(true).ca_cert(Some("no/such.pem".into()));
        let error = request.plan().unwrap_err();
        assert!(
            matches!(error, Error::File(_)) && error.to_string().contains("no/such.pem"),
            "{error}"
        );
    }
}
