//! `GET /messages/{id}`: one message of the signed-in user.
//!
//! An HTML body is shown in a sandboxed `srcdoc` frame (no scripts, no
//! same-origin access). The frame inherits the page's Content-Security-Policy,
//! so nothing in the mail loads from elsewhere: no images, fonts or
//! stylesheets, and the sender cannot learn when and where it is read. The
//! mail's own `<style>` elements apply (admitted by their hashes), as do its
//! `style` attributes. `?images=remote` shows remote images, on that page only.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use mailgrant::gmail::{Message, MessageFormat};
use serde::Deserialize;

use super::{PageError, SignedIn};
use crate::html::{escape, layout, url_encode};
use crate::security::{PagePolicy, style_source};
use crate::state::AppState;

/// At most this many of a mail's `<style>` elements apply: each is a hash in
/// the policy header, which must stay small.
const MAX_STYLES: usize = 32;

#[derive(Deserialize)]
pub struct MessageQuery {
    /// `remote`: show the mail's remote images.
    images: Option<String>,
}

/// `GET /messages/{id}[?images=remote]`.
pub async fn message(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<MessageQuery>,
) -> Result<Response, PageError> {
    let remote_images = query.images.as_deref() == Some("remote");
    let message = user
        .gmail(&state, |mailbox| async move {
            mailbox.get_message(&id, MessageFormat::Full, &[]).await
        })
        .await?;
    let header = |name: &str| escape(message.header(name).unwrap_or(""));
    let attachments: String = message
        .attachments()
        .iter()
        .map(|part| format!("<li>{}</li>", escape(&part.filename)))
        .collect();
    let (body, policy) = body_html(&message, remote_images);
    let page = format!(
        "<header><h1><a href=\"/\">mailgrant</a></h1></header>\
         <h2 id=\"subject\">{}</h2><table class=\"headers\">\
         <tr><td>From</td><td id=\"from\">{}</td></tr><tr><td>To</td><td>{}</td></tr>\
         <tr><td>Date</td><td>{}</td></tr><tr><td>Labels</td><td id=\"labels\">{}</td></tr></table>\
         {}{}",
        header("Subject"),
        header("From"),
        header("To"),
        header("Date"),
        escape(&message.label_ids.join(", ")),
        if attachments.is_empty() {
            String::new()
        } else {
            format!("<p>Attachments:</p><ul id=\"attachments\">{attachments}</ul>")
        },
        body,
    );
    let mut response = Html(layout("mailgrant", &page)).into_response();
    response.extensions_mut().insert(policy);
    Ok(response)
}

/// The readable body of a message and what the page must allow for it: its
/// text part, else its HTML part in a sandboxed frame, else nothing.
fn body_html(message: &Message, remote_images: bool) -> (String, PagePolicy) {
    let part_text = |mime: &str| {
        let part = message.payload.as_ref()?.find_by_mime_type(mime)?;
        let bytes = part.body.as_ref()?.decoded()?.ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    };
    if let Some(text) = part_text("text/plain") {
        let body = format!("<pre class=\"body\" id=\"body\">{}</pre>", escape(&text));
        return (body, PagePolicy::default());
    }
    let Some(html) = part_text("text/html") else {
        let body = "<p class=\"body\" id=\"body\">(no text in this message)</p>".to_owned();
        return (body, PagePolicy::default());
    };
    let link = format!("/messages/{}", url_encode(&message.id));
    let switch = if remote_images {
        format!(
            "<p class=\"notice\" id=\"images\">Remote images are shown. \
             <a id=\"hide-images\" href=\"{}\">Hide them</a></p>",
            escape(&link)
        )
    } else {
        format!(
            "<p class=\"notice\" id=\"images\">Remote images are not loaded, so the sender cannot tell when you read this. \
             <a id=\"show-images\" href=\"{}?images=remote\">Show remote images</a></p>",
            escape(&link)
        )
    };
    let body = format!(
        "{switch}<iframe class=\"body\" id=\"body\" sandbox=\"\" srcdoc=\"{}\"></iframe>",
        escape(&html)
    );
    let policy = PagePolicy {
        styles: style_elements(&html)
            .iter()
            .take(MAX_STYLES)
            .map(|css| style_source(css))
            .collect(),
        style_attributes: true,
        remote_images,
        ..PagePolicy::default()
    };
    (body, policy)
}

/// The text of each `<style>` element of `html` as a browser parses it (line
/// breaks become `\n`), for the hashes that admit them
/// (https://www.w3.org/TR/CSP3/#match-element-to-source-list). A hash for
/// what is not really an element (say, in a comment) admits nothing.
fn style_elements(html: &str) -> Vec<String> {
    // ASCII lowercasing keeps every byte offset.
    let lower = html.to_ascii_lowercase();
    let mut styles = Vec::new();
    let mut at = 0;
    while let Some(found) = lower[at..].find("<style") {
        let name_end = at + found + "<style".len();
        at = name_end;
        // `<style>` or `<style attributes>`, not `<styles>`.
        if !matches!(
            lower.as_bytes().get(name_end),
            Some(b'>' | b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/')
        ) {
            continue;
        }
        let Some(tag_end) = lower[name_end..].find('>') else {
            break;
        };
        let start = name_end + tag_end + 1;
        let Some(length) = lower[start..].find("</style") else {
            break;
        };
        styles.push(
            html[start..start + length]
                .replace("\r\n", "\n")
                .replace('\r', "\n"),
        );
        at = start + length;
    }
    styles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_elements_are_found_in_any_case_with_attributes_and_normalized_line_breaks() {
        let html = "<STYLE>a{}</STYLE><styles>no</styles><style type=\"text/css\">b{}\r\nc{}</style><style>unclosed";

        assert_eq!(style_elements(html), ["a{}", "b{}\nc{}"]);
    }
}
