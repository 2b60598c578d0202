//! Headless Chromium driven over its DevTools protocol.
//!
//! Chromium talks over `--remote-debugging-pipe`: commands go to its file
//! descriptor 3 and messages come from 4, NUL-separated JSON. No websocket,
//! no WebDriver server, no unsafe code of ours (`command-fds` maps the
//! descriptors at spawn). Each [`Chromium`] is a fresh browser with a
//! throwaway profile, killed when dropped.
//!
//! Used by `crawl::render` (pages built in JavaScript) and by the review
//! UI's browser test. What a page does with the browser is the caller's
//! business: this module only sends commands and hands back messages —
//! and, for a browser that must not reach the network itself, cuts it off
//! ([`NoNetwork`]).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use command_fds::{CommandFdExt, FdMapping};
use serde_json::{json, Value};

/// Why Chromium did not do what it was asked.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

/// Whether this process runs as root (Chromium then needs --no-sandbox).
pub(crate) fn running_as_root() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    }
    #[cfg(not(unix))]
    false
}

/// A Chromium's own network, cut: every connection the browser would open
/// itself goes to a proxy of ours on loopback that closes it at once —
/// loopback included (`<-loopback>` drops Chromium's implicit bypass),
/// WebSockets and workers included; QUIC is off and WebRTC may use no UDP
/// but through the proxy, and no name resolves. What the caller serves
/// itself (DevTools' `Fetch.fulfillRequest`) never touches the network, so
/// that is the only way a page gets anything.
pub struct NoNetwork {
    port: u16,
    attempts: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl NoNetwork {
    /// Binds the refusing proxy on a free loopback port.
    pub fn start() -> std::io::Result<NoNetwork> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        let attempts = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (counted, stopped) = (attempts.clone(), stop.clone());
        std::thread::spawn(move || {
            for connection in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                counted.fetch_add(1, Ordering::SeqCst);
                drop(connection);
            }
        });
        Ok(NoNetwork {
            port,
            attempts,
            stop,
        })
    }

    /// Chromium's switches that send everything through the proxy.
    pub fn args(&self) -> Vec<String> {
        vec![
            format!("--proxy-server=http://127.0.0.1:{}", self.port),
            "--proxy-bypass-list=<-loopback>".into(),
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".into(),
            "--disable-quic".into(),
            "--force-webrtc-ip-handling-policy=disable_non_proxied_udp".into(),
            "--webrtc-ip-handling-policy=disable_non_proxied_udp".into(),
            "--dns-prefetch-disable".into(),
            "--disable-features=Prerender2,SpeculationRulesPrefetchProxy,DnsOverHttps,NetworkPrediction".into(),
        ]
    }

    /// Connections the browser tried to open itself (all refused).
    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }
}

impl Drop for NoNetwork {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the stop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// One headless Chromium and its end of the pipe.
pub struct Chromium {
    child: Child,
    commands: std::io::PipeWriter,
    messages: mpsc::Receiver<Value>,
    /// Events read while waiting for an answer.
    held: VecDeque<Value>,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.send("Browser.close", json!({}), None);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Chromium {
    /// Starts `chromium` headless on about:blank, with `extra_args`.
    pub fn launch(chromium: &Path, extra_args: &[&str]) -> Result<Chromium, Error> {
        let io = |what: &str, e: std::io::Error| Error(format!("{what}: {e}"));
        let (to_chromium, commands) = std::io::pipe().map_err(|e| io("a pipe", e))?;
        let (mut from_chromium, chromium_out) = std::io::pipe().map_err(|e| io("a pipe", e))?;
        let profile = tempfile::tempdir().map_err(|e| io("a profile folder", e))?;
        let mut command = Command::new(chromium);
        command
            .args([
                "--headless=new",
                "--remote-debugging-pipe",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--mute-audio",
            ])
            .args(extra_args)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if running_as_root() {
            command.arg("--no-sandbox");
        }
        command.arg("about:blank");
        command
            .fd_mappings(vec![
                FdMapping {
                    parent_fd: to_chromium.into(),
                    child_fd: 3,
                },
                FdMapping {
                    parent_fd: chromium_out.into(),
                    child_fd: 4,
                },
            ])
            .map_err(|e| Error(format!("mapping the pipe: {e}")))?;
        let child = command
            .spawn()
            .map_err(|e| io(&format!("starting {}", chromium.display()), e))?;
        // The command holds our copies of Chromium's ends: drop them, so
        // the reader sees the end of the pipe when Chromium exits.
        drop(command);
        let (send, messages) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 64 * 1024];
            loop {
                let n = match from_chromium.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buffer.extend_from_slice(&chunk[..n]);
                while let Some(end) = buffer.iter().position(|&b| b == 0) {
                    let message: Vec<u8> = buffer.drain(..=end).collect();
                    if let Ok(value) = serde_json::from_slice(&message[..end]) {
                        if send.send(value).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Ok(Chromium {
            child,
            commands,
            messages,
            held: VecDeque::new(),
            next_id: 0,
            _profile: profile,
        })
    }

    /// Sends a command (to a page's `session`, or the browser); returns
    /// its id, which its answer carries.
    pub fn send(
        &mut self,
        method: &str,
        params: Value,
        session: Option<&str>,
    ) -> Result<u64, Error> {
        self.next_id += 1;
        let mut message = json!({ "id": self.next_id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = message.to_string().into_bytes();
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .map_err(|e| Error(format!("Chromium stopped listening: {e}")))?;
        Ok(self.next_id)
    }

    /// The next message (an answer or an event), or `None` after `wait`.
    pub fn next(&mut self, wait: Duration) -> Result<Option<Value>, Error> {
        if let Some(held) = self.held.pop_front() {
            return Ok(Some(held));
        }
        match self.messages.recv_timeout(wait) {
            Ok(message) => Ok(Some(message)),
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error("Chromium exited".into())),
        }
    }

    /// Sends a command and waits until `deadline` for its result; events
    /// read meanwhile are kept for [`Chromium::next`]. For a browser whose
    /// pages need no serving while it waits (no `Fetch.enable`).
    pub fn call(
        &mut self,
        method: &str,
        params: Value,
        session: Option<&str>,
        deadline: Instant,
    ) -> Result<Value, Error> {
        let id = self.send(method, params, session)?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = match self.messages.recv_timeout(left) {
                Ok(message) => message,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(Error(format!("Chromium did not answer {method} in time")))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Error("Chromium exited".into()))
                }
            };
            if message["id"] == id {
                return result_of(method, &message);
            }
            self.held.push_back(message);
        }
    }
}

/// A command's result, or Chromium's refusal as an error naming it.
pub(crate) fn result_of(method: &str, answer: &Value) -> Result<Value, Error> {
    match answer.get("error") {
        Some(error) => Err(Error(format!("Chromium refused {method}: {error}"))),
        None => Ok(answer["result"].clone()),
    }
}
