//! Search operators of `q` over HTTP (reference §8), each on its own,
//! against Alice's generated mailbox of 250 messages.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};

const TOTAL: usize = 250;

struct Search {
    emu: TestEmulator,
    token: String,
}

impl Search {
    async fn new() -> Self {
        let emu = spawn_auto().await;
        let token = emu.alice_token().await;
        Self { emu, token }
    }

    async fn list(&self, params: &[(&str, &str)]) -> Value {
        let mut query = vec![("maxResults", "500")];
        query.extend_from_slice(params);
        let response = self
            .emu
            .http
            .get(self.emu.url("/gmail/v1/users/me/messages"))
            .bearer_auth(&self.token)
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn ids(&self, q: &str) -> BTreeSet<String> {
        self.list(&[("q", q)]).await["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn count(&self, q: &str) -> usize {
        self.ids(q).await.len()
    }

    async fn count_labelled(&self, label: &str) -> usize {
        self.list(&[("labelIds", label)]).await["resultSizeEstimate"]
            .as_u64()
            .unwrap() as usize
    }

    async fn get(&self, id: &str) -> Value {
        let (status, body) = self
            .emu
            .get_json(&self.token, &format!("/gmail/v1/users/me/messages/{id}"))
            .await;
        assert_eq!(status, 200);
        body
    }

    /// The newest-first internalDate of the `n`th message.
    async fn date_of_nth(&self, n: usize) -> i64 {
        let body = self.list(&[]).await;
        let id = body["messages"][n]["id"].as_str().unwrap().to_owned();
        self.get(&id).await["internalDate"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }
}

fn header(message: &Value, name: &str) -> String {
    message["payload"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .and_then(|h| h["value"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// (year, month, day) of a day count since 1970-01-01 (Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[tokio::test]
async fn after_and_before_take_epoch_seconds() {
    let s = Search::new().await;
    let date = s.date_of_nth(49).await;

    let after = s.count(&format!("after:{}", date / 1000)).await;
    let before = s.count(&format!("before:{}", date / 1000)).await;

    assert_eq!(after, 50);
    assert_eq!(before, TOTAL - 50);
}

#[tokio::test]
async fn calendar_dates_mean_midnight_pst_in_either_order() {
    let s = Search::new().await;
    let date = s.date_of_nth(120).await;
    let days = date.div_euclid(86_400_000);
    let (y, m, d) = civil(days);
    let midnight_pst = days * 86_400 + 8 * 3600;

    let by_epoch = s.ids(&format!("after:{midnight_pst}")).await;
    let ymd = s.ids(&format!("after:{y}/{m:02}/{d:02}")).await;
    let mdy = s.ids(&format!("after:{m:02}/{d:02}/{y}")).await;
    let before = s.count(&format!("before:{y}/{m:02}/{d:02}")).await;

    assert!(!by_epoch.is_empty());
    assert_eq!(ymd, by_epoch);
    assert_eq!(mdy, by_epoch);
    assert_eq!(before + ymd.len(), TOTAL);
}

#[tokio::test]
async fn older_than_and_newer_than_split_the_mailbox_by_age() {
    let s = Search::new().await;

    let newer = s.count("newer_than:90d").await;
    let older = s.count("older_than:90d").await;
    let year = s.ids("newer_than:1y").await;
    let twelve_months = s.ids("newer_than:12m").await;

    assert!(0 < newer && newer < TOTAL);
    assert_eq!(newer + older, TOTAL);
    assert!(year.len() > newer);
    assert_eq!(year, twelve_months);
}

#[tokio::test]
async fn upper_case_or_and_braces_match_either_side() {
    let s = Search::new().await;
    let carol = s.count("from:carol").await;
    let dave = s.count("from:dave").await;

    let or = s.ids("from:carol OR from:dave").await;
    let braces = s.ids("{from:carol from:dave}").await;
    let lower = s.count("from:carol or from:dave").await;

    assert!(carol > 0 && dave > 0);
    assert_eq!(or.len(), carol + dave);
    assert_eq!(braces, or);
    assert_eq!(lower, 0);
}

#[tokio::test]
async fn parentheses_group_and_negation_excludes_groups() {
    let s = Search::new().await;
    let either = s.ids("from:carol OR from:dave").await;

    let unread = s.ids("(from:carol OR from:dave) is:unread").await;
    let neither = s.count("-{from:carol from:dave}").await;
    let not_group = s.count("-(from:carol is:unread)").await;
    let carol_unread = s.count("from:carol is:unread").await;

    assert!(unread.is_subset(&either));
    assert_eq!(neither, TOTAL - either.len());
    assert_eq!(not_group, TOTAL - carol_unread);
}

#[tokio::test]
async fn in_names_inbox_sent_trash_spam_or_anywhere() {
    let s = Search::new().await;
    for (label, subject) in [("TRASH", "Binned"), ("SPAM", "Junk")] {
        let (status, _) = s
            .emu
            .post_json(
                "/emulator/users/alice@example.com/messages",
                &json!({"subject": subject, "labelIds": [label]}),
            )
            .await;
        assert_eq!(status, 201);
    }

    assert_eq!(s.count("in:inbox").await, s.count_labelled("INBOX").await);
    assert_eq!(s.count("in:sent").await, s.count_labelled("SENT").await);
    assert_eq!(s.count("in:trash").await, 1);
    assert_eq!(s.count("in:spam").await, 1);
    assert_eq!(s.count("in:anywhere").await, TOTAL + 2);
    assert_eq!(s.count("").await, TOTAL);
}

#[tokio::test]
async fn category_selects_gmails_tabs() {
    let s = Search::new().await;

    let promotions = s.count("category:promotions").await;
    let primary = s.count("category:primary").await;

    assert!(promotions > 0);
    assert_eq!(promotions, s.count_labelled("CATEGORY_PROMOTIONS").await);
    assert_eq!(primary, s.count_labelled("CATEGORY_PERSONAL").await);
}

#[tokio::test]
async fn cc_looks_at_the_cc_header_only() {
    let s = Search::new().await;

    let ids = s.ids("cc:grace").await;

    assert!(!ids.is_empty());
    for id in ids.iter().take(5) {
        let message = s.get(id).await;
        assert!(header(&message, "Cc").contains("grace@example.com"));
    }
}

#[tokio::test]
async fn filename_matches_attachment_names_and_extensions() {
    let s = Search::new().await;

    let pdf = s.ids("filename:pdf").await;
    let jpg = s.ids("filename:jpg").await;
    let any = s.count("has:attachment").await;

    assert!(!pdf.is_empty() && !jpg.is_empty());
    assert!(pdf.len() < any);
    for id in &pdf {
        let message = s.get(id).await;
        let parts = message["payload"]["parts"].as_array().unwrap();
        assert!(
            parts
                .iter()
                .any(|p| p["filename"].as_str().unwrap().ends_with(".pdf"))
        );
    }
}

#[tokio::test]
async fn larger_and_smaller_compare_the_message_size() {
    let s = Search::new().await;

    let larger = s.ids("larger:2K").await;
    let smaller = s.count("smaller:2K").await;
    let huge = s.count("larger:1M").await;

    assert!(!larger.is_empty() && huge == 0);
    assert!(larger.len() + smaller <= TOTAL && larger.len() + smaller >= TOTAL - 1);
    for id in larger.iter().take(5) {
        assert!(s.get(id).await["sizeEstimate"].as_u64().unwrap() > 2048);
    }
}

#[tokio::test]
async fn label_takes_user_label_names_as_gmail_writes_them() {
    let s = Search::new().await;

    let projects = s.count("label:work-projects").await;
    let receipts = s.count("label:receipts").await;
    let not_projects = s.count("-label:work-projects").await;

    assert!(projects > 0 && receipts > 0);
    assert_eq!(projects, s.count_labelled("Label_4").await);
    assert_eq!(receipts, s.count_labelled("Label_1").await);
    assert_eq!(projects + not_projects, TOTAL);
}
