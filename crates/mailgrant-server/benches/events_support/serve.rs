//! The release `mailgrant` binary running `serve` as its own process, with
//! its default store (SQLite in a data directory) and its default logging
//! (to a file here); killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `mailgrant serve` process.
pub struct Serve {
    /// `http://127.0.0.1:PORT`, also its public URL.
    pub address: String,
    pub log: PathBuf,
    child: Child,
}

impl Serve {
    /// A port of 127.0.0.1 nothing listens on, for the process to bind
    /// (the client registration needs its redirect URI before it starts).
    pub fn free_address() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        format!(
            "http://{}",
            listener.local_addr().expect("the free port's address")
        )
    }

    /// Runs `mailgrant serve` at `address` with `env` (and nothing else of
    /// this process's environment), its data directory and log in `dir`;
    /// waits, at most 30 s, until `/healthz` answers 200.
    pub async fn start(address: &str, env: &[(&str, String)], dir: &Path) -> Self {
        let log = dir.join("serve.log");
        let listen = address.trim_start_matches("http://");
        let child = Command::new(env!("CARGO_BIN_EXE_mailgrant"))
            .args(["serve", "--listen", listen])
            .env_clear()
            .env("MAILGRANT_PUBLIC_URL", address)
            .env("MAILGRANT_DATA_DIR", dir.join("data"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("the log file"))
            .spawn()
            .expect("start mailgrant serve");
        let mut serve = Self {
            address: address.to_owned(),
            log,
            child,
        };
        let http = reqwest::Client::new();
        for _ in 0..600 {
            assert!(
                serve.child.try_wait().expect("serve's status").is_none(),
                "mailgrant serve exited: {}",
                serve.log_text()
            );
            let health = http.get(format!("{address}/healthz")).send().await;
            if health.is_ok_and(|r| r.status() == 200) {
                return serve;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "mailgrant serve did not answer /healthz in 30 s: {}",
            serve.log_text()
        );
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
