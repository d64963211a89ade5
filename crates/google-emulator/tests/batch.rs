//! Batch requests over HTTP (reference §6).

mod common;

use common::*;
use serde_json::{Value, json};

/// A `multipart/mixed` batch body; each part is (Content-ID, HTTP request
/// written with `\n`), and `eol` is the line end to send.
fn batch_body(boundary: &str, eol: &str, parts: &[(Option<&str>, String)]) -> String {
    let mut body = String::new();
    for (content_id, request) in parts {
        body.push_str(&format!("--{boundary}\nContent-Type: application/http\n"));
        if let Some(id) = content_id {
            body.push_str(&format!("Content-ID: {id}\n"));
        }
        body.push('\n');
        body.push_str(request);
        body.push('\n');
    }
    body.push_str(&format!("--{boundary}--\n"));
    body.replace('\n', eol)
}

/// One answer part: its MIME headers, status code and JSON body.
struct Answer {
    head: String,
    status: u16,
    headers: String,
    body: Value,
}

async fn send_batch(
    emu: &TestEmulator,
    path: &str,
    token: &str,
    boundary: &str,
    body: String,
) -> (u16, Vec<Answer>, Value) {
    let response = emu
        .http
        .post(emu.url(path))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/mixed; boundary=\"{boundary}\""),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = response.text().await.unwrap();
    let Some(answer_boundary) = content_type.strip_prefix("multipart/mixed; boundary=") else {
        return (status, Vec::new(), serde_json::from_str(&text).unwrap());
    };
    let answers = text
        .split(&format!("--{answer_boundary}"))
        .skip(1)
        .filter(|p| !p.starts_with("--"))
        .map(|part| {
            let (head, http) = part
                .trim_start_matches("\r\n")
                .split_once("\r\n\r\n")
                .unwrap();
            let (status_and_headers, body) = http.split_once("\r\n\r\n").unwrap();
            let (status_line, headers) = status_and_headers.split_once("\r\n").unwrap();
            Answer {
                head: head.to_owned(),
                status: status_line.split(' ').nth(1).unwrap().parse().unwrap(),
                headers: headers.to_owned(),
                body: serde_json::from_str(body.trim_end()).unwrap_or(Value::Null),
            }
        })
        .collect();
    (status, answers, Value::Null)
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\n")
}

#[tokio::test]
async fn message_parts_answer_as_the_same_calls_made_alone() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    let (_, list) = emu
        .get_json(&token, "/gmail/v1/users/me/messages?maxResults=1")
        .await;
    let id = list["messages"][0]["id"].as_str().unwrap().to_owned();
    let paths = [
        format!("/gmail/v1/users/me/messages/{id}?format=metadata&metadataHeaders=Subject"),
        format!("/gmail/v1/users/alice%40example.com/messages/{id}?format=minimal"),
        format!("/gmail/v1/users/bob@example.com/messages/{id}"),
        format!("/gmail/v1/users/me/messages/{id}/"),
        format!("/gmail/v1/users/me/messages/{id}?format=nonsense"),
        "/gmail/v1/users/me/messages/ffffffffffffffff".to_owned(),
    ];
    let mut alone = Vec::new();
    for path in &paths {
        let response = emu.get_with(&token, path).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        alone.push((status, serde_json::from_str(&text).unwrap_or(Value::Null)));
    }
    let mut parts: Vec<(Option<&str>, String)> = paths.iter().map(|p| (None, get(p))).collect();
    parts.push((
        None,
        format!("GET /gmail/v1/users/me/messages/{id} HTTP/1.1\nAuthorization: Bearer ya29.not-a-token\n"),
    ));
    emu.post_json(
        "/emulator/faults",
        &json!({"endpoint": "gmail", "count": 1, "status": 503, "body": "{\"error\":\"down\"}"}),
    )
    .await;
    parts.insert(0, (None, get(&paths[0])));

    let (status, answers, _) = send_batch(
        &emu,
        "/batch/gmail/v1",
        &token,
        "b",
        batch_body("b", "\r\n", &parts),
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(answers.len(), paths.len() + 2);
    assert_eq!(
        (answers[0].status, &answers[0].body),
        (503, &json!({"error": "down"}))
    );
    for (n, (lone_status, lone_body)) in alone.iter().enumerate() {
        let part = &answers[n + 1];
        assert_eq!(
            (part.status, &part.body),
            (*lone_status, lone_body),
            "{}",
            paths[n]
        );
    }
    let statuses: Vec<u16> = alone.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [200, 200, 403, 404, 400, 404]);
    assert_eq!(answers[7].status, 401);
    assert!(
        answers[7]
            .headers
            .to_lowercase()
            .contains("www-authenticate: bearer")
    );
}

#[tokio::test]
async fn batch_answers_each_part_in_order_with_its_own_status() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    let body = batch_body(
        "b0undary",
        "\r\n",
        &[
            (Some("<item1>"), get("/gmail/v1/users/me/profile")),
            (
                Some("<item2>"),
                get("/gmail/v1/users/me/messages/ffffffffffffffff"),
            ),
            (
                Some("<item3>"),
                "GET /gmail/v1/users/me/profile HTTP/1.1
Authorization: Bearer ya29.not-a-token
"
                .to_owned(),
            ),
            (None, get("/gmail/v1/users/me/labels/INBOX")),
        ],
    );

    let (status, answers, _) = send_batch(&emu, "/batch/gmail/v1", &token, "b0undary", body).await;

    assert_eq!(status, 200);
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [200, 404, 401, 200]);
    assert!(answers[0].head.contains("Content-Type: application/http"));
    assert!(answers[0].head.contains("Content-ID: <response-item1>"));
    assert!(answers[2].head.contains("Content-ID: <response-item3>"));
    assert!(!answers[3].head.contains("Content-ID"));
    assert_eq!(answers[0].body["emailAddress"], "alice@example.com");
    assert_eq!(answers[1].body["error"]["errors"][0]["reason"], "notFound");
    assert_eq!(answers[2].body["error"]["status"], "UNAUTHENTICATED");
    assert!(
        answers[2]
            .headers
            .to_lowercase()
            .contains("www-authenticate: bearer")
    );
    assert_eq!(answers[3].body["id"], "INBOX");
}

#[tokio::test]
async fn batch_accepts_lf_bodies_as_googles_python_client_sends_them() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    let (_, list) = emu
        .get_json(&token, "/gmail/v1/users/me/messages?maxResults=2")
        .await;
    let ids: Vec<&str> = list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    // googleapiclient's part headers and inner request, with its <uuid + n>
    // Content-IDs.
    let part = |id: &str| {
        format!(
            "GET /gmail/v1/users/me/messages/{id}?format=metadata&alt=json HTTP/1.1\n\
             Content-Type: application/json\nMIME-Version: 1.0\naccept: application/json\n\
             accept-encoding: gzip, deflate\nuser-agent: (gzip)\n"
        )
    };
    let body = batch_body(
        "===============7330845974216740156==",
        "\n",
        &[
            (Some("<0a1b2c3d+1>"), part(ids[0])),
            (Some("<0a1b2c3d+2>"), part(ids[1])),
        ],
    );

    let (status, answers, _) = send_batch(
        &emu,
        "/batch/gmail/v1",
        &token,
        "===============7330845974216740156==",
        body,
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(answers.len(), 2);
    assert!(
        answers[1]
            .head
            .contains("Content-ID: <response-0a1b2c3d+2>")
    );
    assert_eq!(answers[0].body["id"], ids[0]);
    assert_eq!(answers[1].body["id"], ids[1]);
    assert!(answers[0].body["payload"]["headers"].is_array());
}

#[tokio::test]
async fn batch_parts_can_post_json_bodies_at_the_discovery_batch_path() {
    let emu = spawn_auto().await;
    let token = emu.token_with("alice@example.com", GMAIL_MODIFY).await;
    let (_, list) = emu
        .get_json(&token, "/gmail/v1/users/me/messages?maxResults=1")
        .await;
    let id = list["messages"][0]["id"].as_str().unwrap();
    let request = format!(
        "POST /gmail/v1/users/me/messages/{id}/modify HTTP/1.1\n\
         Content-Type: application/json\n\n{{\"addLabelIds\": [\"STARRED\"]}}"
    );
    let body = batch_body("xyz", "\r\n", &[(Some("<m>"), request)]);

    let (status, answers, _) = send_batch(&emu, "/batch", &token, "xyz", body).await;

    assert_eq!(status, 200);
    assert_eq!(answers[0].status, 200);
    assert!(
        answers[0].body["labelIds"]
            .as_array()
            .unwrap()
            .contains(&"STARRED".into())
    );
}

#[tokio::test]
async fn batch_of_more_than_100_parts_is_refused_with_400() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    let parts: Vec<(Option<&str>, String)> = (0..101)
        .map(|_| (None, get("/gmail/v1/users/me/profile")))
        .collect();
    let body = batch_body("many", "\r\n", &parts);

    let (status, answers, error) = send_batch(&emu, "/batch/gmail/v1", &token, "many", body).await;

    assert_eq!(status, 400);
    assert!(answers.is_empty());
    assert_eq!(error["error"]["code"], 400);
    assert_eq!(error["error"]["errors"][0]["reason"], "badRequest");
    assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
}

#[tokio::test]
async fn batches_and_their_parts_are_counted() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    let parts: Vec<(Option<&str>, String)> = (0..3)
        .map(|_| (None, get("/gmail/v1/users/me/profile")))
        .collect();
    send_batch(
        &emu,
        "/batch/gmail/v1",
        &token,
        "c",
        batch_body("c", "\n", &parts),
    )
    .await;

    let (_, counters) = emu.get_json("", "/emulator/counters").await;

    assert_eq!(counters["batch_requests"], 1);
    assert_eq!(counters["batch_parts"], 3);
    assert_eq!(counters["gmail_calls"], 3);
    assert_eq!(counters["quota_units_used"]["alice@example.com"], 3);
}
