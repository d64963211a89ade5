//! A `mailgrant serve` process (the real binary) for fault tests: started
//! on a port of its own, asked for tokens and its health over HTTP, killed
//! with SIGKILL; and what it answered, kept for assertions once the fault
//! is over.

use std::future::Future;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common::API_KEY;

/// A `mailgrant serve` process on a port of its own; killed with SIGKILL
/// and reaped when dropped.
pub struct Server {
    address: String,
    child: Child,
    http: reqwest::Client,
    log: tempfile::NamedTempFile,
}

impl Server {
    /// Runs `command` (a `serve` without `--listen`) and waits, at most ten
    /// seconds, until `/healthz` answers 200.
    pub async fn start(mut command: Command) -> Self {
        let port = crate::common::free_port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = command
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let mut server = Self {
            address: format!("http://127.0.0.1:{port}"),
            child,
            http: crate::common::no_redirects(false),
            log,
        };
        for _ in 0..200 {
            assert!(server.is_running(), "serve exited: {}", server.log());
            if server.healthz().await.is_ok_and(|r| r.status() == 200) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("serve did not answer /healthz in 10 s: {}", server.log());
    }

    /// `http://127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGKILL: no shutdown of any kind.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn healthz(&self) -> impl Future<Output = reqwest::Result<reqwest::Response>> + use<> {
        self.http.get(format!("{}/healthz", self.address)).send()
    }

    /// `GET /v1/users/{id}/token` with the API key.
    pub fn token(
        &self,
        user_id: &str,
    ) -> impl Future<Output = reqwest::Result<reqwest::Response>> + use<> {
        self.http
            .get(format!("{}/v1/users/{user_id}/token", self.address))
            .bearer_auth(API_KEY)
            .send()
    }

    /// Every user's token and eight `/healthz`, all at once.
    pub async fn burst(&self, users: &[String]) -> (Vec<Answer>, Vec<Answer>) {
        let tokens = futures::future::join_all(users.iter().map(|id| self.token(id)));
        let health = futures::future::join_all((0..8).map(|_| self.healthz()));
        let (tokens, health) = tokio::join!(tokens, health);
        (Answer::all(tokens).await, Answer::all(health).await)
    }

    /// Polls `/healthz` (at most ten seconds) until the store answers again.
    pub async fn wait_healthy(&self) {
        for _ in 0..200 {
            if self.healthz().await.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the store did not come back in 10 s: {}", self.log());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What a request got, kept for assertions after the fault is over.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
}

impl Answer {
    pub async fn all(responses: Vec<reqwest::Result<reqwest::Response>>) -> Vec<Self> {
        let mut answers = Vec::new();
        for response in responses {
            let response = response.expect("an answer, not a broken connection");
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = response.json().await.unwrap_or(Value::Null);
            answers.push(Self {
                status,
                retry_after,
                body,
            });
        }
        answers
    }
}
