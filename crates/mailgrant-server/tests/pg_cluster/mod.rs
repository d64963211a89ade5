//! A PostgreSQL cluster of a test's own, in a temporary directory, made with
//! `initdb` and started and stopped with `pg_ctl` as the test needs: the
//! database can be taken away under a running server and brought back.
//!
//! PostgreSQL refuses to run as root, and tests here run as root: the
//! binaries then run as the `postgres` system user (`runuser`), in a
//! directory given to it. A machine without `initdb` fails the test with
//! what to install; it does not skip.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running (or stopped) cluster; stopped for good when dropped.
pub struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    running: bool,
}

impl Cluster {
    /// `initdb` (trust authentication, superuser `postgres`) and a start on
    /// a free port of 127.0.0.1, the socket in the cluster's directory.
    pub fn start() -> Self {
        let bin = server_binaries();
        let dir = tempfile::tempdir().unwrap();
        if running_as_root() {
            let chown = Command::new("chown")
                .args(["postgres:", path(dir.path())])
                .output()
                .unwrap();
            assert!(
                chown.status.success(),
                "the `postgres` system user runs the test cluster (PostgreSQL refuses root); install PostgreSQL's server package, which makes it: {}",
                String::from_utf8_lossy(&chown.stderr)
            );
        }
        let mut cluster = Self {
            port: crate::common::free_port(),
            bin,
            dir,
            running: false,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                path(&data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        cluster.resume();
        cluster
    }

    /// The `postgres` database, as the superuser, over TCP.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl stop -m fast`: clients are disconnected, the server is gone
    /// (every committed row is on disk) until [`Cluster::resume`].
    pub fn stop(&mut self) {
        self.pg_ctl(&["stop", "-m", "fast"]);
        self.running = false;
    }

    /// `pg_ctl start` on the same port, waiting until it accepts connections.
    pub fn resume(&mut self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {}",
            self.port,
            path(self.dir.path())
        );
        let log = self.dir.path().join("server.log");
        self.pg_ctl(&["start", "-l", path(&log), "-o", &options]);
        self.running = true;
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data();
        let mut all = vec!["-D", path(&data), "-w", "-t", "30"];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all);
    }

    /// `program` of the server binaries, run as `postgres` when we are root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self.command(program).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            let data = self.data();
            let stopped = self
                .command("pg_ctl")
                .args(["-D", path(&data), "-w", "stop", "-m", "immediate"])
                .output();
            if !stopped.is_ok_and(|o| o.status.success()) {
                eprintln!("could not stop the test cluster in {}", data.display());
            }
        }
    }
}

/// The directory of `initdb` and `pg_ctl`: the one on `PATH`, else the
/// newest Debian install.
fn server_binaries() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|versions| versions.flatten().map(|v| v.path().join("bin")).collect())
        .unwrap_or_default();
    debian.sort();
    on_path
        .into_iter()
        .chain(debian.into_iter().rev())
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .expect(
            "initdb and pg_ctl are on neither PATH nor /usr/lib/postgresql/*/bin: install the PostgreSQL server (Debian: apt-get install postgresql) to run the fault tests",
        )
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn path(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}
