//! The "deliver a message" page: a person adds mail to an emulated mailbox
//! from a form, as the JSON control does; whatever they type comes back
//! escaped.

mod common;

use common::*;
use google_emulator::UserSeed;

#[tokio::test]
async fn the_form_offers_each_user_with_their_name_escaped() {
    let emu = spawn_auto().await;
    emu.emulator.add_user(UserSeed {
        email: "mallory@example.com".to_owned(),
        name: "<b>Mallory</b> & Co".to_owned(),
        messages: 0,
    });

    let response = emu
        .http
        .get(emu.url("/emulator/mail"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("<form class=\"fields\" method=\"post\" action=\"/emulator/mail\">"));
    assert!(
        page.contains("<option value=\"alice@example.com\">"),
        "{page}"
    );
    assert!(
        page.contains("&lt;b&gt;Mallory&lt;/b&gt; &amp; Co &lt;mallory@example.com&gt;"),
        "{page}"
    );
    assert!(!page.contains("<b>Mallory"), "{page}");
}

#[tokio::test]
async fn posting_the_form_adds_the_message_and_says_so_escaped() {
    let emu = spawn_auto().await;
    let subject = "<script>alert(1)</script> & more";

    let posted = emu
        .http
        .post(emu.url("/emulator/mail"))
        .form(&[
            ("to", "alice@example.com"),
            ("from", "Eve <eve@example.org>"),
            ("subject", subject),
            ("body", "Hello from the form"),
        ])
        .send()
        .await
        .unwrap();
    let location = posted.headers()["location"].to_str().unwrap().to_owned();
    let page = emu
        .http
        .get(emu.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert_eq!(posted.status(), 303);
    assert!(location.starts_with("/emulator/mail?"), "{location}");
    assert!(
        page.contains(
            "Delivered “&lt;script&gt;alert(1)&lt;/script&gt; &amp; more” to alice@example.com."
        ),
        "{page}"
    );
    assert!(!page.contains("<script>"), "{page}");
    assert!(
        page.contains("<option value=\"alice@example.com\" selected>"),
        "{page}"
    );
    let token = emu.alice_token().await;
    let (_, list) = emu
        .get_json(&token, "/gmail/v1/users/me/messages?maxResults=1")
        .await;
    let id = list["messages"][0]["id"].as_str().unwrap();
    let (_, message) = emu
        .get_json(
            &token,
            &format!(
                "/gmail/v1/users/me/messages/{id}?format=metadata&metadataHeaders=Subject&metadataHeaders=From"
            ),
        )
        .await;
    let header = |name: &str| {
        message["payload"]["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == name)
            .map(|h| h["value"].as_str().unwrap().to_owned())
    };
    assert_eq!(header("Subject").as_deref(), Some(subject));
    assert_eq!(header("From").as_deref(), Some("Eve <eve@example.org>"));
    assert_eq!(message["labelIds"], serde_json::json!(["INBOX", "UNREAD"]));
}

#[tokio::test]
async fn posting_for_an_unknown_user_adds_nothing_and_says_why() {
    let emu = spawn_auto().await;

    let response = emu
        .http
        .post(emu.url("/emulator/mail"))
        .form(&[("to", "nobody@example.com"), ("subject", "lost")])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 404);
    let page = response.text().await.unwrap();
    assert!(page.contains("Not delivered: no such user."), "{page}");
}
