//! The command line of the self-timed benches (those with `harness = false` and no
//! criterion): full or smoke mode, and criterion's filter.
//!
//! `cargo bench --bench NAME -- FILTER` passes `--bench` and the filter; `cargo test
//! --benches` passes neither. The filter is a regular expression over benchmark IDs, as
//! criterion's, so one `FILTER` selects across every bench the scripts run.

use regex::Regex;

/// What the bench was asked to do.
#[derive(Debug)]
pub struct Args {
    /// A real run (`cargo bench`), as opposed to the smoke run of `cargo test --benches`.
    pub full: bool,
    filter: Option<Regex>,
}

impl Args {
    /// Reads the process's arguments; exits with status 2 and a message for a filter
    /// that is not a regular expression.
    pub fn parse() -> Args {
        let mut full = false;
        let mut test = false;
        let mut filter = None;
        for arg in std::env::args().skip(1) {
            match arg.as_str() {
                "--bench" => full = true,
                // `cargo bench -- --test`, as criterion's: the smoke run, in a bench build.
                "--test" => test = true,
                flag if flag.starts_with('-') => {}
                pattern => {
                    filter = Some(Regex::new(pattern).unwrap_or_else(|e| {
                        eprintln!("error: filter `{pattern}` is not a regular expression: {e}");
                        std::process::exit(2);
                    }));
                }
            }
        }
        Args { full: full && !test, filter }
    }

    /// Whether the benchmark `id` is selected.
    pub fn selects(&self, id: &str) -> bool {
        self.filter.as_ref().is_none_or(|f| f.is_match(id))
    }
}
