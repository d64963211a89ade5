//! `mailgrant keys rotate` under SIGKILL: a database of [`ROWS`] users
//! with real sealed tokens, rotations killed at chosen points, and how
//! every token reads after each kill.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailgrant::ExposeSecret;
use mailgrant::crypto::Keyring;
use mailgrant::store::{EncryptedToken, GrantUpdate};
use sqlx::Connection as _;

/// Users whose tokens a rotation re-encrypts: enough that it runs long
/// enough to be killed midway.
pub const ROWS: usize = 1000;

fn refresh_plaintext(user_id: &str) -> String {
    format!("1//refresh-{user_id}")
}

fn access_plaintext(user_id: &str) -> String {
    format!("ya29.access-{user_id}")
}

/// [`ROWS`] users in a new SQLite database in `dir`, their tokens sealed
/// with `keys`.
pub async fn seed(dir: &Path, keys: &Keyring) {
    let store = mailgrant::store::open(&format!("sqlite://{}", dir.join("mailgrant.db").display()))
        .await
        .unwrap();
    for i in 0..ROWS {
        let user_id = format!("user-{i:05}");
        store
            .save_grant(&GrantUpdate {
                email: Some(format!("{user_id}@example.com")),
                name: None,
                refresh_token: Some(EncryptedToken(
                    keys.encrypt(&refresh_plaintext(&user_id), &user_id),
                )),
                access_token: EncryptedToken(keys.encrypt(&access_plaintext(&user_id), &user_id)),
                access_token_expires_at: 4_000_000_000,
                scopes: vec!["https://www.googleapis.com/auth/gmail.readonly".to_owned()],
                user_id,
            })
            .await
            .unwrap();
    }
}

/// Every row's id and two sealed tokens, read behind the stores' backs.
async fn sealed_tokens(dir: &Path) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let url = format!("sqlite://{}", dir.join("mailgrant.db").display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query_as("SELECT user_id, refresh_token, access_token FROM credentials ORDER BY user_id")
        .fetch_all(&mut connection)
        .await
        .unwrap()
}

/// How the tokens stand against `keys`.
#[derive(Debug, PartialEq, Eq)]
struct Readable {
    /// Tokens that decrypt to what was sealed.
    tokens: usize,
    /// Rows with both tokens on the current key.
    rows_on_current_key: usize,
}

async fn readable(dir: &Path, keys: &Keyring) -> Readable {
    let rows = sealed_tokens(dir).await;
    let opens = |blob: &[u8], user_id: &str, plain: String| {
        keys.decrypt(blob, user_id)
            .is_ok_and(|t| t.expose_secret() == plain)
    };
    let on_current = |blob: &[u8]| Keyring::key_id_of(blob) == Some(keys.current_key_id());
    Readable {
        tokens: rows
            .iter()
            .map(|(id, r, a)| {
                usize::from(opens(r, id, refresh_plaintext(id)))
                    + usize::from(opens(a, id, access_plaintext(id)))
            })
            .sum(),
        rows_on_current_key: rows
            .iter()
            .filter(|(_, r, a)| on_current(r) && on_current(a))
            .count(),
    }
}

/// When a `keys rotate` under test gets its SIGKILL.
#[derive(Clone, Copy, Debug)]
pub enum KillPoint {
    /// As soon as it is spawned.
    AtOnce,
    After(Duration),
    /// As soon as the key file on disk changed.
    KeyFileWritten,
    /// As soon as this run re-encrypted at least this many rows.
    Rotated(usize),
}

/// `mailgrant keys rotate` on the data directory `dir`, its key file or
/// the `MAILGRANT_ENCRYPTION_KEY` given.
fn rotate(dir: &Path, key: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mailgrant"));
    command
        .args(["keys", "rotate", "--data-dir"])
        .arg(dir)
        .env_clear()
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(key) = key {
        command.env("MAILGRANT_ENCRYPTION_KEY", key);
    }
    command
}

/// Runs `command` and kills it with SIGKILL at `point`, watching the
/// database and key file in `dir` (at most 30 seconds). False when it
/// finished before the point came.
async fn kill_at(mut command: Command, point: KillPoint, dir: &Path) -> bool {
    let key_file = || std::fs::read_to_string(dir.join("encryption.key")).ok();
    let (key_file_before, rows_before) = (key_file(), sealed_tokens(dir).await);
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        let now = match point {
            KillPoint::AtOnce => true,
            KillPoint::After(delay) => started.elapsed() >= delay,
            KillPoint::KeyFileWritten => key_file() != key_file_before,
            KillPoint::Rotated(count) => {
                let rows = sealed_tokens(dir).await;
                rows.iter()
                    .zip(&rows_before)
                    .filter(|(a, b)| a != b)
                    .count()
                    >= count
            }
        };
        if now {
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "keys rotate neither finished nor reached {point:?} in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Kills a rotation at each of `points` in turn, each time reading every
/// token with `keys()` (the keys configured, or the key file as it is on
/// disk); then lets one finish. Returns how many kills landed midway
/// (some rows on the new key, some not).
pub async fn kill_rotations(
    dir: &Path,
    key: Option<&str>,
    points: &[KillPoint],
    keys: impl Fn() -> Keyring,
) -> usize {
    let mut midway = 0;
    for &point in points {
        let killed = kill_at(rotate(dir, key), point, dir).await;
        let state = readable(dir, &keys()).await;
        assert_eq!(
            state.tokens,
            2 * ROWS,
            "after a SIGKILL at {point:?} (killed: {killed}) every token reads: {state:?}"
        );
        println!(
            "  SIGKILL at {point:?}: killed midrun {killed}, rows on the current key {}",
            state.rows_on_current_key
        );
        midway += usize::from(killed && (1..ROWS).contains(&state.rows_on_current_key));
    }
    let finished = rotate(dir, key).status().unwrap();
    assert!(finished.success(), "a last rotation finishes");
    let keys = keys();
    assert_eq!(
        readable(dir, &keys).await,
        Readable {
            tokens: 2 * ROWS,
            rows_on_current_key: ROWS
        },
        "every token is on the current key {}",
        keys.current_key_id()
    );
    midway
}
