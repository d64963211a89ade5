//! `mailgrant events tail` and the change stream part of `users show`.

use std::time::Duration;

use mailgrant::events::envelope;
use mailgrant::store::{EventStore, WatchStatus};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::EventsCommand;

pub(super) async fn events(command: EventsCommand) -> anyhow::Result<()> {
    match command {
        EventsCommand::Tail {
            user,
            after,
            once,
            store,
        } => {
            let (store, _) = store.open().await?;
            let user_id = match user {
                Some(user) if user.contains('@') => Some(
                    store
                        .find_by_email(&user)
                        .await?
                        .map(|u| u.user_id)
                        .ok_or_else(|| anyhow::anyhow!("no stored user {user}"))?,
                ),
                other => other,
            };
            tail(store.events().as_ref(), user_id.as_deref(), after, once).await
        }
    }
}

/// Prints events after `after` as JSON lines (by default from the ten
/// latest), then waits for more unless `once`.
async fn tail(
    events: &dyn EventStore,
    user_id: Option<&str>,
    after: Option<i64>,
    once: bool,
) -> anyhow::Result<()> {
    let mut after = match after {
        Some(after) => after,
        None => latest_minus(events, user_id, 10).await?,
    };
    loop {
        let page = events.events_after(user_id, after, 500).await?;
        for event in &page {
            println!("{}", serde_json::to_string(&envelope(event))?);
            after = event.id;
        }
        if page.len() < 500 {
            if once {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// The id after which the last `n` events come.
async fn latest_minus(
    events: &dyn EventStore,
    user_id: Option<&str>,
    n: usize,
) -> anyhow::Result<i64> {
    let mut ids: Vec<i64> = Vec::new();
    let mut after = 0;
    loop {
        let page = events.events_after(user_id, after, 500).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        ids.extend(page.iter().map(|e| e.id));
        if ids.len() > n {
            ids.drain(..ids.len() - n);
        }
    }
    Ok(ids.first().map_or(after, |first| first - 1))
}

/// The lines `users show` adds: watch, cursor, last event, backlog.
pub(super) async fn show(events: &dyn EventStore, user_id: &str) -> anyhow::Result<()> {
    let Some(state) = events.mailbox(user_id).await? else {
        println!("changes:       not tracked (connected before this server ran, or disconnected)");
        return Ok(());
    };
    let watch = match state.watch_status {
        WatchStatus::Watching => format!("watching until {}", time_of(state.watch_expires_at)),
        WatchStatus::Failed => format!(
            "polling: the watch failed ({})",
            state.watch_error.as_deref().unwrap_or("no reason recorded")
        ),
        WatchStatus::None => "polling (no Pub/Sub topic)".to_owned(),
    };
    println!("watch:         {watch}");
    println!(
        "cursor:        {}",
        state
            .cursor
            .map_or("not started".to_owned(), |c| format!("history id {c}"))
    );
    println!("last push:     {}", time_of(state.last_push_at));
    println!("last sync:     {}", time_of(state.last_sync_at));
    match events.last_event(user_id).await? {
        Some(event) => println!(
            "last event:    {} {} at {}",
            event.id,
            event.kind,
            time_of(Some(event.occurred_at))
        ),
        None => println!("last event:    none"),
    }
    let stats = events.outbox_stats(Some(user_id)).await?;
    println!(
        "outbox:        {} waiting for the webhook{}, {} given up",
        stats.pending,
        stats
            .oldest_pending_at
            .map(|at| format!(" (oldest from {})", time_of(Some(at))))
            .unwrap_or_default(),
        stats.abandoned
    );
    Ok(())
}

fn time_of(ms: Option<i64>) -> String {
    ms.and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "never".to_owned())
}
