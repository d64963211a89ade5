//! The Chromium and chromedriver behind the browser tests: a WebDriver
//! session in a headless Chromium of its own, and the page reads they share.

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Deserialize;
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const INSTALL: &str = "apt-get install chromium chromium-driver";

/// Bounds every wait: for chromedriver to start, and for a page to show
/// what the test waits for.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A message row of the home page, as the browser shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Row {
    pub id: String,
    pub from: String,
    pub subject: String,
}

/// A WebDriver session in a headless Chromium of its own. Dropping it (also
/// when a test fails) ends the session, which quits Chromium, then
/// chromedriver: killing only chromedriver would leave Chromium running.
pub struct Browser {
    /// `None` once closed.
    client: Option<Client>,
    _driver: Driver,
}

impl Browser {
    /// Starts chromedriver and a browser session, or returns `None` (after
    /// saying why) when they are not installed and not required.
    pub async fn start() -> Option<Self> {
        let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
            .into_iter()
            .filter(|path| !Path::new(path).exists())
            .collect();
        if !missing.is_empty() {
            let message = format!("browser tests need {}: {INSTALL}", missing.join(" and "));
            if std::env::var("MAILGRANT_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!("{message} (MAILGRANT_REQUIRE_BROWSER=1)");
            }
            // Straight to stderr: `eprintln!` would be captured, and the
            // note hidden, since the test passes.
            let _ = writeln!(std::io::stderr(), "skipping: {message}");
            return None;
        }
        let driver = Driver::start();
        let profile = driver.home.path().join("profile").display().to_string();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--disable-quic",
                    "--window-size=1280,1000",
                    format!("--user-data-dir={profile}"),
                ],
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|error| panic!("no Chromium session from chromedriver: {error}"));
        Some(Self {
            client: Some(client),
            _driver: driver,
        })
    }

    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("session open")
    }

    pub async fn goto(&self, url: &str) {
        self.client().goto(url).await.unwrap();
    }

    pub async fn current_url(&self) -> String {
        self.client().current_url().await.unwrap().to_string()
    }

    /// The element, once the current page has it.
    pub async fn wait_for(&self, locator: Locator<'_>) -> Element {
        let client = self.client();
        match client.wait().at_most(TIMEOUT).for_element(locator).await {
            Ok(element) => element,
            Err(error) => {
                let url = client.current_url().await.ok();
                let page = client.source().await.unwrap_or_default();
                panic!("waiting for {locator:?} on {url:?}: {error}\n{page}");
            }
        }
    }

    /// Signs `email` in to the app at `address` through an auto-approving
    /// emulator, and waits for the signed-in home page.
    pub async fn sign_in(&self, address: &str, email: &str) {
        self.goto(&format!("{address}/oauth2/authorize?login_hint={email}"))
            .await;
        self.wait_for(Locator::Id("user")).await;
    }

    pub async fn click(&self, locator: Locator<'_>) {
        self.wait_for(locator).await.click().await.unwrap();
    }

    /// The rows of the message table, read in one go.
    pub async fn rows(&self) -> Vec<Row> {
        let rows = self
            .client()
            .execute(
                "return [...document.querySelectorAll('table#messages tr')].map(tr => ({
                    id: tr.dataset.id || '',
                    from: tr.querySelector('td.from')?.innerText ?? '',
                    subject: tr.querySelector('.subject')?.innerText ?? '',
                }));",
                Vec::new(),
            )
            .await
            .unwrap();
        serde_json::from_value(rows).unwrap()
    }

    /// Saves a screenshot to `target/browser/NAME` for a person to look at.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client().screenshot().await.unwrap();
        let dir = target_dir().join("browser");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), png).unwrap();
    }

    /// Ends the session, which quits Chromium.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            client.close().await.unwrap();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Drop cannot await; the tests' multi-threaded runtime lets it
            // block here while the runtime's workers talk to chromedriver.
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async {
                    let _ = tokio::time::timeout(TIMEOUT, client.close()).await;
                });
            });
        }
    }
}

/// Cargo's target directory, wherever `CARGO_TARGET_DIR` puts it.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp")
        .to_owned()
}

/// A running chromedriver, killed when dropped, also when a test fails.
struct Driver {
    child: Child,
    port: u16,
    /// `HOME` of chromedriver and Chromium, with Chromium's profile in it:
    /// fresh for each browser, and nothing (crash reports) lands in the
    /// real home.
    home: tempfile::TempDir,
}

impl Driver {
    /// Starts chromedriver on a port the system picks and waits until it
    /// says it listens.
    pub fn start() -> Self {
        let home = tempfile::tempdir().unwrap();
        let mut child = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .env("HOME", home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {CHROMEDRIVER}: {error}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (port_tx, port_rx) = mpsc::channel();
        // Reads to the end, so chromedriver never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line
                    .split("started successfully on port ")
                    .nth(1)
                    .and_then(|rest| rest.trim_end_matches('.').parse::<u16>().ok())
                {
                    let _ = port_tx.send(port);
                }
            }
        });
        let mut driver = Self {
            child,
            port: 0,
            home,
        };
        driver.port = port_rx
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|error| panic!("chromedriver did not say it started: {error}"));
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
