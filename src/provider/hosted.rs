//! The hosted providers by name: production URL, API key variable and dialect, so the
//! CLI, the mocks, and the real-provider benches and tests all pick a provider from one
//! word (`deepgram`, `assemblyai`).
//!
//! Dialect settings here are the defaults of each config; a caller that needs others
//! builds the dialect itself.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use super::assemblyai::{self, AssemblyAi, AssemblyAiConfig};
use super::deepgram::{self, Deepgram, DeepgramConfig};
use super::{ApiKey, Credential, Dialect};

/// A hosted speech-to-text provider sttbench speaks (and mocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hosted {
    /// Deepgram live streaming, `/v1/listen`.
    Deepgram,
    /// AssemblyAI Universal-Streaming v3, `/v3/ws`.
    AssemblyAi,
}

impl Hosted {
    /// Every hosted provider, in the order tables list them.
    pub const ALL: [Hosted; 2] = [Hosted::Deepgram, Hosted::AssemblyAi];

    /// `deepgram` or `assemblyai`: the dialect's name.
    pub fn name(self) -> &'static str {
        match self {
            Hosted::Deepgram => "deepgram",
            Hosted::AssemblyAi => "assemblyai",
        }
    }

    /// The production streaming endpoint (`wss://`).
    pub fn production_url(self) -> &'static str {
        match self {
            Hosted::Deepgram => deepgram::PRODUCTION_URL,
            Hosted::AssemblyAi => assemblyai::PRODUCTION_URL,
        }
    }

    /// The environment variable holding the API key: `DEEPGRAM_API_KEY`,
    /// `ASSEMBLYAI_API_KEY`.
    pub fn api_key_env(self) -> &'static str {
        match self {
            Hosted::Deepgram => deepgram::API_KEY_ENV,
            Hosted::AssemblyAi => assemblyai::API_KEY_ENV,
        }
    }

    /// The API key from [`api_key_env`](Self::api_key_env), if it is set.
    pub fn key_from_env(self) -> Option<ApiKey> {
        ApiKey::from_env(self.api_key_env())
    }

    /// The provider's dialect with default settings and `credential`; without one,
    /// building a request fails with an error naming [`api_key_env`](Self::api_key_env).
    pub fn dialect(self, credential: Option<Credential>) -> Arc<dyn Dialect> {
        match self {
            Hosted::Deepgram => {
                let config = DeepgramConfig::default();
                let config = match credential {
                    Some(c) => config.credential(c),
                    None => config,
                };
                Arc::new(Deepgram::new(config))
            }
            Hosted::AssemblyAi => {
                let config = AssemblyAiConfig::default();
                let config = match credential {
                    Some(c) => config.credential(c),
                    None => config,
                };
                Arc::new(AssemblyAi::new(config))
            }
        }
    }
}

impl FromStr for Hosted {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hosted::ALL
            .into_iter()
            .find(|h| h.name() == s)
            .ok_or_else(|| format!("unknown provider `{s}`; expected deepgram or assemblyai"))
    }
}

impl fmt::Display for Hosted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::AudioFormat;

    #[test]
    fn names_parse_back_and_dialects_match() {
        for hosted in Hosted::ALL {
            assert_eq!(hosted.name().parse(), Ok(hosted));
            let dialect = hosted.dialect(Some(Credential::Key(ApiKey::new("k"))));
            assert_eq!(dialect.name(), hosted.name());
            let request = dialect.request(hosted.production_url(), AudioFormat::PIPELINE).unwrap();
            assert_eq!(request.uri().scheme_str(), Some("wss"));
        }
        assert!("openai".parse::<Hosted>().unwrap_err().contains("deepgram or assemblyai"));
    }
}
