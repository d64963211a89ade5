//! One contract every `CredentialStore` keeps, run against each implementation
//! on a real database: an SQLite file, and the PostgreSQL server at
//! `MAILGRANT_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`,
//! which `.ci/run` starts), each test in a schema of its own.

use std::sync::Arc;

use mailgrant::store::{
    self, CredentialStore, EncryptedToken, GrantUpdate, PostgresStore, RefreshUpdate, SqliteStore,
    TokenPair,
};

mod postgres_common;

use postgres_common::Schema;

fn token(bytes: &[u8]) -> EncryptedToken {
    EncryptedToken(bytes.to_vec())
}

fn grant(user: &str, refresh: Option<&[u8]>) -> GrantUpdate {
    GrantUpdate {
        user_id: user.to_owned(),
        email: Some(format!("{user}@example.com")),
        name: Some(format!("User {user}")),
        refresh_token: refresh.map(token),
        access_token: token(b"access-1"),
        access_token_expires_at: 1_000,
        scopes: vec!["a".to_owned(), "b".to_owned()],
    }
}

async fn sqlite() -> (Arc<dyn CredentialStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    (store::open(&url).await.unwrap(), dir)
}

async fn postgres() -> (Arc<dyn CredentialStore>, Schema) {
    let schema = Schema::new().await;
    (store::open(&schema.url()).await.unwrap(), schema)
}

async fn grant_is_stored_and_found_by_id_and_email(store: Arc<dyn CredentialStore>) {
    let saved = store
        .save_grant(&grant("u1", Some(b"refresh-1")))
        .await
        .unwrap();
    let got = store.get("u1").await.unwrap().unwrap();
    assert_eq!(saved, got);
    assert_eq!(got.refresh_token, Some(token(b"refresh-1")));
    assert_eq!(got.scopes, ["a", "b"]);
    assert_eq!(got.revoked, None);
    assert_eq!(
        store.find_by_email("u1@example.com").await.unwrap(),
        Some(got)
    );
    assert_eq!(store.get("nobody").await.unwrap(), None);
}

async fn grant_without_refresh_token_keeps_the_stored_one(store: Arc<dyn CredentialStore>) {
    store
        .save_grant(&grant("u1", Some(b"refresh-1")))
        .await
        .unwrap();
    let mut again = grant("u1", None);
    again.access_token = token(b"access-2");
    store.save_grant(&again).await.unwrap();
    let got = store.get("u1").await.unwrap().unwrap();
    assert_eq!(got.refresh_token, Some(token(b"refresh-1")));
    assert_eq!(got.access_token, Some(token(b"access-2")));
}

async fn refresh_writes_access_and_rotated_refresh_token_together(store: Arc<dyn CredentialStore>) {
    store
        .save_grant(&grant("u1", Some(b"refresh-1")))
        .await
        .unwrap();
    let update = RefreshUpdate {
        access_token: token(b"access-2"),
        access_token_expires_at: 2_000,
        scopes: vec!["a".to_owned()],
        refresh_token: Some(token(b"refresh-2")),
    };
    assert!(store.save_refresh("u1", &update).await.unwrap());
    let got = store.get("u1").await.unwrap().unwrap();
    assert_eq!(got.access_token, Some(token(b"access-2")));
    assert_eq!(got.refresh_token, Some(token(b"refresh-2")));
    assert_eq!(got.access_token_expires_at, Some(2_000));
    let unrotated = RefreshUpdate {
        refresh_token: None,
        ..update
    };
    assert!(store.save_refresh("u1", &unrotated).await.unwrap());
    assert_eq!(
        store.get("u1").await.unwrap().unwrap().refresh_token,
        Some(token(b"refresh-2"))
    );
}

async fn revocation_keeps_the_sealed_refresh_token_until_a_new_consent(
    store: Arc<dyn CredentialStore>,
) {
    store
        .save_grant(&grant("u1", Some(b"refresh-1")))
        .await
        .unwrap();
    assert!(
        !store
            .mark_revoked("u1", &token(b"an-older-token"), "invalid_grant")
            .await
            .unwrap(),
        "a refusal of a token the row no longer holds revokes nothing"
    );
    assert!(store.get("u1").await.unwrap().unwrap().revoked.is_none());
    assert!(
        store
            .mark_revoked("u1", &token(b"refresh-1"), "invalid_grant")
            .await
            .unwrap()
    );
    let revoked = store.get("u1").await.unwrap().unwrap();
    assert_eq!(revoked.revoked.as_ref().unwrap().reason, "invalid_grant");
    assert_eq!(
        (revoked.refresh_token, revoked.access_token),
        (Some(token(b"refresh-1")), None)
    );
    let update = RefreshUpdate {
        access_token: token(b"late"),
        access_token_expires_at: 3_000,
        scopes: vec![],
        refresh_token: None,
    };
    assert!(
        !store.save_refresh("u1", &update).await.unwrap(),
        "a late refresh does not revive it"
    );
    // A consent without a refresh token does not clear the revocation.
    store.save_grant(&grant("u1", None)).await.unwrap();
    assert!(store.get("u1").await.unwrap().unwrap().revoked.is_some());
    store
        .save_grant(&grant("u1", Some(b"refresh-2")))
        .await
        .unwrap();
    let back = store.get("u1").await.unwrap().unwrap();
    assert_eq!(back.revoked, None);
    assert_eq!(back.refresh_token, Some(token(b"refresh-2")));
    assert!(
        !store
            .mark_revoked("nobody", &token(b"r"), "x")
            .await
            .unwrap()
    );
}

async fn a_wrong_revocation_is_undone_by_reinstate(store: Arc<dyn CredentialStore>) {
    store
        .save_grant(&grant("u1", Some(b"refresh-1")))
        .await
        .unwrap();
    let update = RefreshUpdate {
        access_token: token(b"access-2"),
        access_token_expires_at: 4_000,
        scopes: vec!["a".to_owned()],
        refresh_token: None,
    };
    assert!(
        !store.reinstate("u1", &update).await.unwrap(),
        "only a revoked row is reinstated"
    );
    store
        .mark_revoked("u1", &token(b"refresh-1"), "invalid_grant")
        .await
        .unwrap();

    assert!(store.reinstate("u1", &update).await.unwrap());

    let back = store.get("u1").await.unwrap().unwrap();
    assert_eq!(back.revoked, None);
    assert_eq!(back.refresh_token, Some(token(b"refresh-1")));
    assert_eq!(back.access_token, Some(token(b"access-2")));
    assert_eq!(back.access_token_expires_at, Some(4_000));
    assert!(!store.reinstate("nobody", &update).await.unwrap());
}

async fn delete_and_list(store: Arc<dyn CredentialStore>) {
    for user in ["u3", "u1", "u2"] {
        store.save_grant(&grant(user, Some(b"r"))).await.unwrap();
    }
    let ids = |page: Vec<store::StoredCredential>| {
        page.into_iter().map(|c| c.user_id).collect::<Vec<_>>()
    };
    assert_eq!(ids(store.list(None, 2).await.unwrap()), ["u1", "u2"]);
    assert_eq!(ids(store.list(Some("u2"), 2).await.unwrap()), ["u3"]);
    assert!(store.delete("u2").await.unwrap());
    assert!(!store.delete("u2").await.unwrap());
    assert_eq!(ids(store.list(None, 10).await.unwrap()), ["u1", "u3"]);
    store.ping().await.unwrap();
}

async fn tokens_are_replaced_only_if_unchanged(store: Arc<dyn CredentialStore>) {
    store.save_grant(&grant("u1", Some(b"r1"))).await.unwrap();
    let stored = TokenPair {
        refresh_token: Some(token(b"r1")),
        access_token: Some(token(b"access-1")),
    };
    let reencrypted = TokenPair {
        refresh_token: Some(token(b"r1-new-key")),
        access_token: Some(token(b"a1-new-key")),
    };
    let stale = TokenPair {
        refresh_token: Some(token(b"r0")),
        access_token: Some(token(b"access-1")),
    };
    assert!(
        !store
            .replace_tokens("u1", &stale, &reencrypted)
            .await
            .unwrap()
    );
    assert!(
        store
            .replace_tokens("u1", &stored, &reencrypted)
            .await
            .unwrap()
    );
    let got = store.get("u1").await.unwrap().unwrap();
    assert_eq!(got.refresh_token, reencrypted.refresh_token);
    assert_eq!(got.access_token, reencrypted.access_token);
    // A revoked row has no access token: NULL must match NULL.
    store
        .mark_revoked("u1", &token(b"r1-new-key"), "invalid_grant")
        .await
        .unwrap();
    let revoked = TokenPair {
        refresh_token: reencrypted.refresh_token.clone(),
        access_token: None,
    };
    assert!(
        store
            .replace_tokens("u1", &revoked, &revoked)
            .await
            .unwrap()
    );
    let none = TokenPair {
        refresh_token: None,
        access_token: None,
    };
    assert!(!store.replace_tokens("nobody", &none, &none).await.unwrap());
}

async fn session_cutoffs_only_move_forward_and_outlive_the_credentials(
    store: Arc<dyn CredentialStore>,
) {
    store.save_grant(&grant("u1", Some(b"r"))).await.unwrap();
    assert_eq!(store.session_cutoff("u1").await.unwrap(), None);
    store.end_sessions("u1", 2_000).await.unwrap();
    store.end_sessions("u1", 1_000).await.unwrap();
    assert_eq!(store.session_cutoff("u1").await.unwrap(), Some(2_000));
    store.delete("u1").await.unwrap();
    assert_eq!(store.session_cutoff("u1").await.unwrap(), Some(2_000));
    assert_eq!(store.session_cutoff("u2").await.unwrap(), None);
}

async fn a_login_state_is_used_once_until_it_expires(store: Arc<dyn CredentialStore>) {
    let later = store::now_unix_ms() + 60_000;
    assert!(store.use_state("hash-a", later).await.unwrap());
    assert!(!store.use_state("hash-a", later).await.unwrap());
    assert!(store.use_state("hash-b", later).await.unwrap());
    // An expired record is dropped: the hash is free again.
    assert!(store.use_state("hash-old", 1).await.unwrap());
    assert!(store.use_state("hash-old", later).await.unwrap());
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite_store {
            $(
                #[tokio::test]
                async fn $case() {
                    let (store, _dir) = super::sqlite().await;
                    super::$case(store).await;
                }
            )*
        }

        mod postgres_store {
            $(
                #[tokio::test]
                async fn $case() {
                    let (store, _schema) = super::postgres().await;
                    super::$case(store).await;
                }
            )*
        }
    };
}

contract!(
    grant_is_stored_and_found_by_id_and_email,
    grant_without_refresh_token_keeps_the_stored_one,
    refresh_writes_access_and_rotated_refresh_token_together,
    revocation_keeps_the_sealed_refresh_token_until_a_new_consent,
    a_wrong_revocation_is_undone_by_reinstate,
    session_cutoffs_only_move_forward_and_outlive_the_credentials,
    a_login_state_is_used_once_until_it_expires,
    delete_and_list,
    tokens_are_replaced_only_if_unchanged,
);

#[tokio::test]
async fn replicas_share_one_postgres_database_and_migrate_it_once() {
    let schema = Schema::new().await;
    let url = schema.url();
    let (first, second) = tokio::join!(PostgresStore::open(&url), PostgresStore::open(&url));
    let (first, second) = (first.unwrap(), second.unwrap());
    first
        .save_grant(&grant("u1", Some(b"refresh-1")))
        .await
        .unwrap();
    let seen = second.get("u1").await.unwrap().unwrap();
    assert_eq!(seen.refresh_token, Some(token(b"refresh-1")));
}

#[tokio::test]
async fn postgres_store_debug_shows_no_password() {
    let schema = Schema::new().await;
    // Trust authentication ignores the password; it is only here to be looked for.
    let url = schema
        .url()
        .replacen("postgres://postgres@", "postgres://postgres:s3cret-pw@", 1);
    assert!(
        url.contains("s3cret-pw"),
        "the URL carries a password: {url}"
    );
    let store = PostgresStore::open(&url).await.unwrap();
    assert!(!format!("{store:?}").contains("s3cret-pw"));
}

#[tokio::test]
async fn sqlite_file_keeps_credentials_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let first = SqliteStore::open(&url).await.unwrap();
    first
        .save_grant(&grant("u1", Some(b"refresh-1")))
        .await
        .unwrap();
    drop(first);
    let second = SqliteStore::open(&url).await.unwrap();
    assert!(second.get("u1").await.unwrap().is_some());
}

#[tokio::test]
async fn unsupported_database_url_is_a_clear_error() {
    let err = store::open("mysql://localhost/db").await.err().unwrap();
    assert_eq!(
        err.to_string(),
        "unsupported database URL scheme `mysql` (use sqlite://PATH or postgres://USER@HOST/DB)"
    );
}

#[tokio::test]
async fn postgres_refresh_lock_holds_one_user_across_replicas_until_dropped() {
    let schema = Schema::new().await;
    let url = schema.url();
    let one = PostgresStore::open(&url)
        .await
        .unwrap()
        .refresh_coordinator();
    let two = PostgresStore::open(&url)
        .await
        .unwrap()
        .refresh_coordinator();
    let wait = std::time::Duration::from_millis(300);
    let soon = std::time::Duration::from_secs(5);

    // Both lock pools connect lazily: connect them first, so that the
    // timeout below can only be the lock's.
    drop((one.lock("u0").await.unwrap(), two.lock("u9").await.unwrap()));
    let held = one.lock("u1").await.unwrap();
    let blocked = tokio::time::timeout(wait, two.lock("u1")).await;
    let other_user = tokio::time::timeout(soon, two.lock("u2")).await;
    drop(held);
    let after_release = tokio::time::timeout(soon, two.lock("u1")).await;

    assert!(blocked.is_err(), "another replica waits for the same user");
    assert!(
        other_user.is_ok_and(|l| l.is_ok()),
        "another user does not wait"
    );
    assert!(
        after_release.is_ok_and(|l| l.is_ok()),
        "dropping the guard releases"
    );
}
