//! `sttbench proxy` as a user runs it: the first `127.0.0.1:PORT` it prints is where it
//! listens, `--latency` is one-way (a round trip gains twice it), SIGTERM stops it
//! cleanly, `--list-profiles` shows each profile with its source, and bad flags say
//! what to fix.
//!
//! Every wait on the child process is bounded and names what hung ([`process::within`]).

mod process;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use process::{Running, sttbench, within};
use sttbench::server::shaper::Profile;

/// A blocking TCP echo on 127.0.0.1:0, one thread per connection.
fn echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut socket in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let _ = socket.set_nodelay(true);
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = socket.read(&mut buf) {
                    if socket.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn proxy_prints_where_it_listens_adds_latency_and_stops_on_sigterm() {
    let upstream = echo().to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_sttbench"))
        .args(["proxy", "--upstream", &upstream, "--listen", "127.0.0.1:0", "--latency", "50ms"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start sttbench proxy");
    let pid = child.id().to_string();
    let mut proxy = Running(Some(child));
    let stdout = proxy.0.as_mut().and_then(|c| c.stdout.take()).expect("piped stdout");
    let mut stdout = BufReader::new(stdout);
    let (first_line, stdout) = within("proxy prints its address", move || {
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the first line");
        (line, stdout)
    });
    // The contract: the first 127.0.0.1:PORT printed is the listening address (the
    // upstream is on 127.0.0.1 too, and must come later).
    let listen = first_line
        .split(|c: char| c.is_whitespace() || c == ',')
        .find(|w| w.starts_with("127.0.0.1:"))
        .unwrap_or_else(|| panic!("no 127.0.0.1:PORT in {first_line:?}"))
        .to_owned();
    assert_ne!(listen, upstream, "{first_line}");

    let rtts = within("round trips through the proxy", move || {
        let mut socket = TcpStream::connect(&listen).expect("connect to the proxy");
        socket.set_nodelay(true).unwrap();
        (0..3)
            .map(|i| {
                let message = [i as u8; 640];
                let sent = Instant::now();
                socket.write_all(&message).unwrap();
                let mut back = [0u8; 640];
                socket.read_exact(&mut back).unwrap();
                assert_eq!(back, message);
                sent.elapsed()
            })
            .collect::<Vec<_>>()
    });
    for rtt in &rtts {
        assert!(*rtt >= Duration::from_millis(100), "--latency 50ms each way, yet {rtts:?}");
    }

    let kill = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
    assert!(kill.success());
    let mut child = proxy.0.take().expect("still running");
    let (status, rest) = within("proxy stops on SIGTERM", move || {
        let mut rest = String::new();
        let mut stdout = stdout;
        stdout.read_to_string(&mut rest).expect("read the rest of stdout");
        (child.wait().expect("wait for sttbench proxy"), rest)
    });
    assert!(status.success(), "{status:?}");
    assert!(rest.contains("latency 50ms") && rest.contains("proxy stopped"), "{rest}");
}

#[test]
fn list_profiles_shows_every_profile_with_its_source() {
    let out = sttbench(&["proxy", "--list-profiles"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for profile in Profile::ALL {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(profile.name()))
            .unwrap_or_else(|| panic!("{} missing from\n{text}", profile.name()));
        assert!(line.contains(&profile.uplink().to_string()), "{line}");
        assert!(line.contains(&format!("{}ms", profile.rtt().as_millis())), "{line}");
    }
    let edge = text.lines().find(|l| l.starts_with("edge")).unwrap();
    assert!(edge.contains("cannot carry 16 kHz PCM"), "{edge}");
    assert!(text.contains("catchpoint/WebPageTest"), "{text}");
}

#[test]
fn bad_flags_say_what_to_fix() {
    let check = |args: &[&str], status: i32, says: &str| {
        let out = sttbench(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(status), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?} should say {says:?}: {err}");
    };
    let up = ["proxy", "--upstream", "127.0.0.1:9"];
    check(&["proxy"], 2, "--upstream");
    check(&[&up[..], &["--bandwidth", "256kbps"]].concat(), 2, "ambiguous");
    check(&[&up[..], &["--latency", "fast"]].concat(), 2, "50ms");
    check(&[&up[..], &["--profile", "5g"]].concat(), 2, "3g-slow");
    check(&[&up[..], &["--stall-close-after", "2s"]].concat(), 2, "--stall");
    check(&[&up[..], &["--slice", "10", "--slice-variation", "10"]].concat(), 1, "variation");
    check(&[&up[..], &["--burst", "3000"]].concat(), 1, "--bandwidth");
    check(&["proxy", "--upstream", "no-port-here"], 1, "HOST:PORT");
}
