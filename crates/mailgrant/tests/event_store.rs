//! The change stream's storage contract (`EventStore`, `Leases`), run on each
//! implementation on a real database: an SQLite file, and the PostgreSQL
//! server at `MAILGRANT_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), each test in a schema of its
//! own. Several cases open the database twice, as two replicas would.

use std::collections::BTreeSet;
use std::sync::Arc;

use mailgrant::store::{
    self, CredentialStore, EventStore, MailboxState, NewEvent, OutboxStats, StoreError, SyncCommit,
    WatchStatus,
};

mod postgres_common;

use postgres_common::Schema;

/// A database for one test, and what keeps it alive (dropped with it).
struct TestDb {
    url: String,
    _dir: Option<tempfile::TempDir>,
    _schema: Option<Schema>,
}

impl TestDb {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        Self {
            url,
            _dir: Some(dir),
            _schema: None,
        }
    }

    async fn postgres() -> Self {
        let schema = Schema::new().await;
        Self {
            url: schema.url(),
            _dir: None,
            _schema: Some(schema),
        }
    }

    /// A store on this database, as one replica opens it.
    async fn replica(&self) -> Arc<dyn CredentialStore> {
        store::open(&self.url).await.unwrap()
    }

    async fn events(&self) -> Arc<dyn EventStore> {
        self.replica().await.events()
    }
}

fn event(kind: &str, n: u32) -> NewEvent {
    NewEvent {
        kind: kind.to_owned(),
        email: Some(format!("msg-{n}")),
        occurred_at: 1_000 + i64::from(n),
        data: format!(r#"{{"n":{n}}}"#),
    }
}

fn events(count: u32) -> Vec<NewEvent> {
    (0..count).map(|n| event("message.added", n)).collect()
}

async fn commit(
    store: &dyn EventStore,
    user_id: &str,
    expected_cursor: Option<u64>,
    new_cursor: u64,
    events: &[NewEvent],
) -> bool {
    store
        .commit_sync(SyncCommit {
            user_id,
            expected_cursor,
            new_cursor,
            events,
            at: 5_000,
        })
        .await
        .unwrap()
}

async fn all_events(store: &dyn EventStore, user_id: Option<&str>) -> Vec<i64> {
    let events = store.events_after(user_id, 0, 10_000).await.unwrap();
    events.iter().map(|e| e.id).collect()
}

async fn track_creates_a_row_once_and_keeps_an_existing_one(db: TestDb) {
    let store = db.events().await;
    assert_eq!(store.mailbox("u1").await.unwrap(), None);

    let created = store.track("u1", 100).await.unwrap();
    assert!(commit(&*store, "u1", None, 7, &[]).await);
    let again = store.track("u1", 999).await.unwrap();

    assert_eq!(
        created,
        MailboxState {
            user_id: "u1".to_owned(),
            cursor: None,
            pushed_history_id: None,
            last_push_at: None,
            last_sync_at: None,
            watch_status: WatchStatus::None,
            watch_expires_at: None,
            watch_renewed_at: None,
            watch_error: None,
            next_check_at: 100,
        }
    );
    assert_eq!((again.cursor, again.next_check_at), (Some(7), 100));
    assert_eq!(store.mailbox("u1").await.unwrap(), Some(again));
}

async fn note_push_keeps_the_highest_history_id_and_creates_the_row(db: TestDb) {
    let store = db.events().await;

    store.note_push("u1", 50, 10).await.unwrap();
    let created = store.mailbox("u1").await.unwrap().unwrap();
    store.note_push("u1", 40, 20).await.unwrap();
    let after_older = store.mailbox("u1").await.unwrap().unwrap();
    store.note_push("u1", 60, 30).await.unwrap();
    let after_newer = store.mailbox("u1").await.unwrap().unwrap();

    assert_eq!(
        (created.cursor, created.watch_status, created.next_check_at),
        (None, WatchStatus::None, 10)
    );
    assert_eq!(
        (created.pushed_history_id, created.last_push_at),
        (Some(50), Some(10))
    );
    assert_eq!(
        (after_older.pushed_history_id, after_older.last_push_at),
        (Some(50), Some(20)),
        "an older push does not move the id back"
    );
    assert_eq!(
        (after_newer.pushed_history_id, after_newer.last_push_at),
        (Some(60), Some(30))
    );
}

async fn commit_sync_with_a_moved_cursor_writes_nothing(db: TestDb) {
    let store = db.events().await;
    store.track("u1", 0).await.unwrap();
    assert!(commit(&*store, "u1", None, 10, &[]).await);

    let stale = commit(&*store, "u1", None, 20, &events(2)).await;
    let wrong = commit(&*store, "u1", Some(9), 20, &events(2)).await;
    let untracked = commit(&*store, "nobody", None, 20, &events(2)).await;

    assert!(!stale && !wrong && !untracked);
    assert_eq!(store.mailbox("u1").await.unwrap().unwrap().cursor, Some(10));
    assert_eq!(store.mailbox("nobody").await.unwrap(), None);
    assert!(all_events(&*store, None).await.is_empty());
}

async fn commit_sync_appends_events_in_order_and_moves_the_cursor(db: TestDb) {
    let store = db.events().await;
    store.track("u1", 0).await.unwrap();
    let first = [event("message.added", 1), event("labels.changed", 2)];
    let second = [event("message.deleted", 3)];

    assert!(commit(&*store, "u1", None, 10, &first).await);
    assert!(commit(&*store, "u1", Some(10), 12, &second).await);

    let stored = store.events_after(Some("u1"), 0, 100).await.unwrap();
    let kinds: Vec<&str> = stored.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["message.added", "labels.changed", "message.deleted"]
    );
    assert!(stored.windows(2).all(|w| w[0].id < w[1].id));
    let added = &stored[0];
    assert_eq!(
        (&added.user_id, &added.email, added.occurred_at, &added.data),
        (
            &"u1".to_owned(),
            &first[0].email,
            first[0].occurred_at,
            &first[0].data
        )
    );
    assert_eq!(
        (added.delivered_at, added.abandoned_at, added.attempts),
        (None, None, 0)
    );
    assert_eq!(
        added.next_attempt_at, 5_000,
        "deliverable from the commit on"
    );
    let mailbox = store.mailbox("u1").await.unwrap().unwrap();
    assert_eq!(
        (mailbox.cursor, mailbox.last_sync_at),
        (Some(12), Some(5_000))
    );
}

async fn events_after_pages_per_user_and_for_everyone(db: TestDb) {
    let store = db.events().await;
    for user in ["a", "b"] {
        store.track(user, 0).await.unwrap();
    }
    assert!(commit(&*store, "a", None, 1, &events(3)).await);
    assert!(commit(&*store, "b", None, 1, &events(2)).await);
    assert!(commit(&*store, "a", Some(1), 2, &events(1)).await);
    let everyone = all_events(&*store, None).await;
    let of_a = all_events(&*store, Some("a")).await;

    let first_page = store.events_after(None, 0, 2).await.unwrap();
    let next_page = store.events_after(None, first_page[1].id, 2).await.unwrap();
    let a_after = store.events_after(Some("a"), of_a[1], 10).await.unwrap();

    assert_eq!(everyone.len(), 6);
    assert!(everyone.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(of_a.len(), 4);
    let ids = |events: &[store::StoredEvent]| events.iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(&first_page), everyone[..2]);
    assert_eq!(ids(&next_page), everyone[2..4]);
    assert_eq!(ids(&a_after), of_a[2..]);
    assert!(a_after.iter().all(|e| e.user_id == "a"));
}

async fn concurrent_commits_for_one_user_let_exactly_one_win(db: TestDb) {
    let replicas = [db.events().await, db.events().await];
    replicas[0].track("u1", 0).await.unwrap();

    let tries = (0..8u32).map(|n| {
        let store = replicas[n as usize % 2].clone();
        async move {
            let won = commit(&*store, "u1", None, 100 + u64::from(n), &events(n + 1)).await;
            (n, won)
        }
    });
    let outcomes = futures::future::join_all(tries).await;

    let winners: Vec<u32> = outcomes.iter().filter(|o| o.1).map(|o| o.0).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let winner = winners[0];
    let mailbox = replicas[1].mailbox("u1").await.unwrap().unwrap();
    assert_eq!(mailbox.cursor, Some(100 + u64::from(winner)));
    let stored = all_events(&*replicas[1], None).await;
    assert_eq!(
        stored.len(),
        winner as usize + 1,
        "only the winner's events"
    );
}

/// A reader that pages with `after` while many commits land must, in the
/// end, have seen every event: an id that commits after a larger one would
/// be skipped for good.
async fn a_reader_paging_during_concurrent_commits_misses_no_event(db: TestDb) {
    const USERS: u32 = 12;
    const COMMITS: u64 = 6;
    let replicas = [db.events().await, db.events().await];
    for user in 0..USERS {
        replicas[0].track(&format!("u{user}"), 0).await.unwrap();
    }
    let writers = futures::future::join_all((0..USERS).map(|user| {
        let store = replicas[user as usize % 2].clone();
        async move {
            let user_id = format!("u{user}");
            for n in 0..COMMITS {
                let expected = n.checked_sub(1);
                assert!(commit(&*store, &user_id, expected, n, &events(3)).await);
            }
        }
    }));
    let reader = replicas[1].clone();
    let done = std::sync::atomic::AtomicBool::new(false);
    let read = async {
        let (mut seen, mut after) = (Vec::new(), 0);
        loop {
            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
            let page = reader.events_after(None, after, 50).await.unwrap();
            if let Some(last) = page.last() {
                after = last.id;
            }
            let empty = page.is_empty();
            seen.extend(page.into_iter().map(|e| e.id));
            if finished && empty {
                return seen;
            }
            tokio::task::yield_now().await;
        }
    };
    let write = async {
        writers.await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };

    let (seen, ()) = tokio::join!(read, write);

    let stored = all_events(&*replicas[0], None).await;
    assert_eq!(stored.len(), (USERS as usize) * (COMMITS as usize) * 3);
    assert_eq!(seen, stored, "the reader saw every event, in id order");
}

async fn claim_due_gives_each_due_row_to_one_claimer(db: TestDb) {
    const DUE: u32 = 30;
    let replicas = [db.events().await, db.events().await];
    let now = 10_000;
    for n in 0..DUE {
        replicas[0]
            .track(&format!("due-{n:02}"), now - i64::from(n))
            .await
            .unwrap();
    }
    replicas[0].track("later", now + 1).await.unwrap();
    let claim = |store: Arc<dyn EventStore>| async move {
        let mut claimed = Vec::new();
        loop {
            let batch = store.claim_due(now, 60_000, 4).await.unwrap();
            if batch.is_empty() {
                return claimed;
            }
            assert!(batch.len() <= 4);
            assert!(
                batch
                    .windows(2)
                    .all(|w| w[0].next_check_at <= w[1].next_check_at),
                "ordered by next_check_at"
            );
            claimed.extend(batch);
        }
    };

    let (one, two) = tokio::join!(claim(replicas[0].clone()), claim(replicas[1].clone()));

    let claimed: Vec<&MailboxState> = one.iter().chain(&two).collect();
    let users: BTreeSet<&str> = claimed.iter().map(|m| m.user_id.as_str()).collect();
    assert_eq!(claimed.len(), DUE as usize, "no row went to both");
    assert_eq!(users.len(), DUE as usize);
    assert!(!users.contains("later"), "a row not yet due is skipped");
    for row in claimed {
        let n: i64 = row.user_id["due-".len()..].parse().unwrap();
        assert_eq!(row.next_check_at, now - n, "returned as it was");
        let stored = replicas[0].mailbox(&row.user_id).await.unwrap().unwrap();
        assert_eq!(stored.next_check_at, now + 60_000, "moved by the lease");
    }
    let later = replicas[0].mailbox("later").await.unwrap().unwrap();
    assert_eq!(later.next_check_at, now + 1);
}

async fn schedule_moves_the_check_and_untrack_keeps_the_events(db: TestDb) {
    let store = db.events().await;
    store.track("u1", 100).await.unwrap();
    assert!(commit(&*store, "u1", None, 1, &events(2)).await);

    store.schedule("u1", 50).await.unwrap();
    let claimed = store.claim_due(60, 1_000, 10).await.unwrap();
    let forgotten = store.untrack("u1").await.unwrap();
    let forgotten_again = store.untrack("u1").await.unwrap();

    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].next_check_at, 50);
    assert!(forgotten && !forgotten_again);
    assert_eq!(store.mailbox("u1").await.unwrap(), None);
    assert_eq!(all_events(&*store, Some("u1")).await.len(), 2);
}

async fn set_watch_records_the_outcome(db: TestDb) {
    let store = db.events().await;
    store.track("u1", 0).await.unwrap();

    store
        .set_watch("u1", WatchStatus::Failed, None, Some("topic missing"), 10)
        .await
        .unwrap();
    let failed = store.mailbox("u1").await.unwrap().unwrap();
    store
        .set_watch("u1", WatchStatus::Watching, Some(999), None, 20)
        .await
        .unwrap();
    let watching = store.mailbox("u1").await.unwrap().unwrap();

    assert_eq!(failed.watch_status, WatchStatus::Failed);
    assert_eq!(failed.watch_error.as_deref(), Some("topic missing"));
    assert_eq!(failed.watch_renewed_at, Some(10));
    assert_eq!(watching.watch_status, WatchStatus::Watching);
    assert_eq!(
        (
            watching.watch_expires_at,
            watching.watch_error,
            watching.watch_renewed_at
        ),
        (Some(999), None, Some(20))
    );
}

async fn due_deliveries_offer_each_users_oldest_pending_event_when_due(db: TestDb) {
    let store = db.events().await;
    for user in ["a", "b", "c"] {
        store.track(user, 0).await.unwrap();
        assert!(commit(&*store, user, None, 1, &events(2)).await);
    }
    let [a1, a2, b1, _b2, c1, c2] = all_events(&*store, None).await[..] else {
        panic!("six events");
    };
    store.mark_delivered(a1, 6_000).await.unwrap();
    store.mark_failed(b1, 9_000).await.unwrap();
    store.mark_abandoned(c1, 6_000).await.unwrap();
    store.mark_delivered(c2, 6_000).await.unwrap();

    let ids = |events: Vec<store::StoredEvent>| events.iter().map(|e| e.id).collect::<Vec<_>>();
    let now = ids(store.due_deliveries(6_000, 10).await.unwrap());
    let later = ids(store.due_deliveries(9_000, 10).await.unwrap());
    let limited = ids(store.due_deliveries(9_000, 1).await.unwrap());

    assert_eq!(
        now,
        [a2],
        "b's oldest waits for its retry; b's next waits behind it"
    );
    assert_eq!(later, [a2, b1]);
    assert_eq!(limited, [a2], "oldest first");
}

async fn delivery_outcomes_are_recorded_on_the_event(db: TestDb) {
    let store = db.events().await;
    store.track("u1", 0).await.unwrap();
    assert!(commit(&*store, "u1", None, 1, &events(3)).await);
    let [one, two, three] = all_events(&*store, None).await[..] else {
        panic!("three events");
    };

    store.mark_failed(one, 7_000).await.unwrap();
    store.mark_failed(one, 8_000).await.unwrap();
    store.mark_delivered(two, 6_500).await.unwrap();
    store.mark_abandoned(three, 6_600).await.unwrap();

    let stored = store.events_after(None, 0, 10).await.unwrap();
    assert_eq!((stored[0].attempts, stored[0].next_attempt_at), (2, 8_000));
    assert_eq!(
        (stored[0].delivered_at, stored[0].abandoned_at),
        (None, None)
    );
    assert_eq!(
        (stored[1].delivered_at, stored[1].abandoned_at),
        (Some(6_500), None)
    );
    assert_eq!(
        (stored[2].delivered_at, stored[2].abandoned_at),
        (None, Some(6_600))
    );
}

async fn outbox_stats_count_pending_and_abandoned_events(db: TestDb) {
    let store = db.events().await;
    assert_eq!(
        store.outbox_stats(None).await.unwrap(),
        OutboxStats::default()
    );
    for user in ["a", "b"] {
        store.track(user, 0).await.unwrap();
    }
    assert!(commit(&*store, "a", None, 1, &events(3)).await);
    assert!(commit(&*store, "b", None, 1, &[event("message.added", 7)]).await);
    let [a1, a2, _a3, _b1] = all_events(&*store, None).await[..] else {
        panic!("four events");
    };
    store.mark_delivered(a1, 6_000).await.unwrap();
    store.mark_abandoned(a2, 6_000).await.unwrap();

    assert_eq!(
        store.outbox_stats(None).await.unwrap(),
        OutboxStats {
            pending: 2,
            oldest_pending_at: Some(1_002),
            abandoned: 1
        }
    );
    assert_eq!(
        store.outbox_stats(Some("b")).await.unwrap(),
        OutboxStats {
            pending: 1,
            oldest_pending_at: Some(1_007),
            abandoned: 0
        }
    );
    assert_eq!(
        store.outbox_stats(Some("nobody")).await.unwrap(),
        OutboxStats::default()
    );
}

async fn last_event_is_the_users_newest(db: TestDb) {
    let store = db.events().await;
    for user in ["a", "b"] {
        store.track(user, 0).await.unwrap();
    }
    assert!(commit(&*store, "a", None, 1, &events(2)).await);
    assert!(commit(&*store, "b", None, 1, &events(1)).await);

    let last = store.last_event("a").await.unwrap().unwrap();

    assert_eq!(
        last.id,
        *all_events(&*store, Some("a")).await.last().unwrap()
    );
    assert_eq!(last.email.as_deref(), Some("msg-1"));
    assert_eq!(store.last_event("nobody").await.unwrap(), None);
}

async fn a_lease_has_one_holder_until_it_lapses(db: TestDb) {
    let (one, two) = (db.replica().await.leases(), db.replica().await.leases());

    assert!(one.try_acquire("sync", "r1", 1_000, 500).await.unwrap());
    assert!(!two.try_acquire("sync", "r2", 1_200, 500).await.unwrap());
    assert!(
        one.try_acquire("sync", "r1", 1_400, 500).await.unwrap(),
        "renewed"
    );
    assert!(
        !two.try_acquire("sync", "r2", 1_600, 500).await.unwrap(),
        "the renewal moved the lapse to 1,900"
    );
    assert!(two.try_acquire("other", "r2", 1_600, 500).await.unwrap());
    assert!(
        two.try_acquire("sync", "r2", 1_900, 500).await.unwrap(),
        "lapsed"
    );
    assert!(!one.try_acquire("sync", "r1", 2_000, 500).await.unwrap());
}

async fn a_lease_is_released_only_by_its_holder(db: TestDb) {
    let leases = db.replica().await.leases();
    assert!(leases.try_acquire("sync", "r1", 1_000, 500).await.unwrap());

    leases.release("sync", "r2").await.unwrap();
    let after_others_release = leases.try_acquire("sync", "r2", 1_100, 500).await.unwrap();
    leases.release("sync", "r1").await.unwrap();
    let after_release = leases.try_acquire("sync", "r2", 1_100, 500).await.unwrap();

    assert!(!after_others_release);
    assert!(after_release);
}

async fn history_ids_above_i64_max_are_refused_and_nothing_is_stored(db: TestDb) {
    let store = db.events().await;
    let too_big = i64::MAX as u64 + 1;
    store.track("u1", 0).await.unwrap();

    let push = store.note_push("u2", too_big, 10).await;
    let sync = store
        .commit_sync(SyncCommit {
            user_id: "u1",
            expected_cursor: None,
            new_cursor: too_big,
            events: &events(1),
            at: 10,
        })
        .await;
    let largest = commit(&*store, "u1", None, i64::MAX as u64, &[]).await;

    assert!(matches!(push, Err(StoreError::HistoryIdOutOfRange(id)) if id == too_big));
    assert!(matches!(sync, Err(StoreError::HistoryIdOutOfRange(id)) if id == too_big));
    assert_eq!(store.mailbox("u2").await.unwrap(), None);
    assert!(all_events(&*store, None).await.is_empty());
    assert!(largest, "i64::MAX itself is kept");
    assert_eq!(
        store.mailbox("u1").await.unwrap().unwrap().cursor,
        Some(i64::MAX as u64)
    );
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::TestDb::sqlite().await).await;
                }
            )*
        }

        mod postgres_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::TestDb::postgres().await).await;
                }
            )*
        }
    };
}

contract!(
    track_creates_a_row_once_and_keeps_an_existing_one,
    note_push_keeps_the_highest_history_id_and_creates_the_row,
    commit_sync_with_a_moved_cursor_writes_nothing,
    commit_sync_appends_events_in_order_and_moves_the_cursor,
    events_after_pages_per_user_and_for_everyone,
    concurrent_commits_for_one_user_let_exactly_one_win,
    a_reader_paging_during_concurrent_commits_misses_no_event,
    claim_due_gives_each_due_row_to_one_claimer,
    schedule_moves_the_check_and_untrack_keeps_the_events,
    set_watch_records_the_outcome,
    due_deliveries_offer_each_users_oldest_pending_event_when_due,
    delivery_outcomes_are_recorded_on_the_event,
    outbox_stats_count_pending_and_abandoned_events,
    last_event_is_the_users_newest,
    a_lease_has_one_holder_until_it_lapses,
    a_lease_is_released_only_by_its_holder,
    history_ids_above_i64_max_are_refused_and_nothing_is_stored,
);
