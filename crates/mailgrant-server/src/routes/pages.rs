//! `GET /`: the connect button, or the signed-in user's messages with search and paging.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::PrivateCookieJar;
use mailgrant::gmail::{ListMessages, Message, MessageFormat};
use serde::Deserialize;
use url::Url;

use crate::error::AppError;
use crate::routes::api::list_for;
use crate::session::{self, Session};
use crate::state::{AUTHORIZE_PATH, AppState};

const PAGE_SIZE: u32 = 25;
const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#202124}\
header{display:flex;gap:1rem;align-items:center;justify-content:space-between;border-bottom:1px solid #ddd;padding-bottom:.75rem}\
h1{font-size:1.4rem;margin:0}form.inline{display:inline}\
pre.body{white-space:pre-wrap;font:inherit;border-top:1px solid #ddd;padding-top:1rem}iframe.body{width:100%;height:32rem;border:1px solid #ddd}\
table.headers td:first-child{color:#5f6368;width:5rem}h1 a{color:inherit;text-decoration:none}\
.button,button{background:#1a73e8;color:#fff;border:0;border-radius:4px;padding:.5rem 1rem;text-decoration:none;cursor:pointer;font:inherit}\
button.secondary{background:#fff;color:#1a73e8;border:1px solid #dadce0}\
table{width:100%;border-collapse:collapse;margin-top:1rem}td{padding:.4rem .5rem;border-bottom:1px solid #eee;vertical-align:top}\
td.from{width:14rem;font-weight:600}td.date{width:11rem;color:#5f6368;white-space:nowrap}.snippet{color:#5f6368}\
.unread td{background:#f6f9fe}.notice{background:#e8f0fe;padding:.6rem 1rem;border-radius:4px}.error{color:#b3261e}\
input[type=search]{width:60%;padding:.45rem;font:inherit}nav.paging{margin-top:1rem;display:flex;gap:1rem}";

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Undoes the entity escaping Gmail applies to snippets (`I&#39;m`), so that
/// [`escape`] can escape the text once, whatever Google sent.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let entity = rest
            .find(';')
            .filter(|end| *end <= 10)
            .map(|end| &rest[1..end]);
        let decoded = entity.and_then(|e| match e {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => e
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| e.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        });
        match (entity, decoded) {
            (Some(e), Some(c)) => {
                out.push(c);
                rest = &rest[e.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The page frame around `body` (trusted HTML).
pub fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HomeQuery {
    q: Option<String>,
    page_token: Option<String>,
    notice: Option<String>,
}

pub async fn home(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Query(query): Query<HomeQuery>,
) -> Response {
    let notice = match query.notice.as_deref() {
        Some("access_denied") => "<p class=\"notice\">You did not grant access to your Gmail.</p>",
        Some("disconnected") => {
            "<p class=\"notice\">Disconnected: access was revoked at Google and your stored credentials were deleted.</p>"
        }
        _ => "",
    };
    let body = match session::current(&jar) {
        None => format!(
            "<header><h1>mailgrant</h1></header>{notice}\
             <p>Let this app read your Gmail while you are away. You will be asked to approve read-only access.</p>\
             <p><a class=\"button\" id=\"connect\" href=\"{AUTHORIZE_PATH}\">Connect Gmail</a></p>"
        ),
        Some(session) => match signed_in(&state, &session, &query, notice).await {
            Ok(body) => body,
            // The grant is gone: straight back to consent (unless the user just
            // declined there, which shows the page with a reconnect button).
            Err(authorization_url) => {
                return Redirect::to(authorization_url.as_str()).into_response();
            }
        },
    };
    Html(layout("mailgrant", &body)).into_response()
}

async fn signed_in(
    state: &AppState,
    session: &Session,
    query: &HomeQuery,
    notice: &str,
) -> Result<String, Url> {
    let who = escape(session.email.as_deref().unwrap_or(&session.user_id));
    let q = query.q.clone().unwrap_or_default();
    let header = format!(
        "<header><h1>mailgrant</h1><div>Signed in as <strong id=\"user\">{who}</strong> \
         <form class=\"inline\" method=\"post\" action=\"/logout\"><button class=\"secondary\">Log out</button></form> \
         <form class=\"inline\" method=\"post\" action=\"/disconnect\"><button class=\"secondary\">Disconnect</button></form>\
         </div></header>{notice}\
         <form method=\"get\" action=\"/\"><input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"Search mail (Gmail operators work)\"> \
         <button>Search</button></form>",
        escape(&q)
    );
    let params = ListMessages {
        q: query.q.clone(),
        max_results: Some(PAGE_SIZE),
        page_token: query.page_token.clone(),
        ..ListMessages::default()
    };
    let page = match list_for(state, session, &params).await {
        Ok(page) => page,
        Err(AppError::Reauthorize {
            authorization_url, ..
        }) if query.notice.is_none() => return Err(authorization_url),
        Err(AppError::Reauthorize {
            authorization_url, ..
        }) => {
            return Ok(format!(
                "{header}<p class=\"error\">Your Gmail access has to be renewed.</p>\
                 <p><a class=\"button\" id=\"reconnect\" href=\"{}\">Reconnect Gmail</a></p>",
                escape(authorization_url.as_str())
            ));
        }
        Err(error) => {
            return Ok(format!(
                "{header}<p class=\"error\">{}</p>",
                escape(&error.to_string())
            ));
        }
    };
    // One batch request for the page's headers, not one request a message.
    let ids: Vec<&str> = page.messages.iter().map(|m| m.id.as_str()).collect();
    let messages = state
        .0
        .gmail
        .user(&session.user_id)
        .get_messages(&ids, MessageFormat::Metadata, &["From", "Subject", "Date"])
        .await;
    let rows: String = messages
        .iter()
        .zip(&page.messages)
        .map(|(message, item)| match message {
            Ok(message) => row(message),
            Err(_) => format!(
                "<tr><td colspan=\"3\" class=\"error\">message {} could not be loaded</td></tr>",
                escape(&item.id)
            ),
        })
        .collect();
    let list = if page.messages.is_empty() {
        "<p id=\"empty\">No messages match.</p>".to_owned()
    } else {
        format!(
            "<p>About {} messages</p><table id=\"messages\">{rows}</table>",
            page.result_size_estimate
        )
    };
    let next = page
        .next_page_token
        .map(|token| {
            let link = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("q", &q)
                .append_pair("pageToken", &token)
                .finish();
            format!("<a id=\"next\" href=\"/?{link}\">Next page</a>")
        })
        .unwrap_or_default();
    let first = if query.page_token.is_some() {
        format!(
            "<a href=\"/?q={}\">First page</a>",
            escape(&url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>())
        )
    } else {
        String::new()
    };
    Ok(format!(
        "{header}{list}<nav class=\"paging\">{first}{next}</nav>"
    ))
}

fn row(message: &Message) -> String {
    let unread = message.label_ids.iter().any(|l| l == "UNREAD");
    format!(
        "<tr class=\"{}\" data-id=\"{}\"><td class=\"from\">{}</td><td><div class=\"subject\"><a href=\"/messages/{}\">{}</a></div><div class=\"snippet\">{}</div></td><td class=\"date\">{}</td></tr>",
        if unread { "unread" } else { "read" },
        escape(&message.id),
        escape(message.header("From").unwrap_or("")),
        escape(&url::form_urlencoded::byte_serialize(message.id.as_bytes()).collect::<String>()),
        escape(message.header("Subject").unwrap_or("(no subject)")),
        escape(&unescape(&message.snippet)),
        escape(message.header("Date").unwrap_or("")),
    )
}

/// The readable body of a message: its text part, else its HTML part shown in
/// a sandboxed frame (no scripts, no same-origin access), else nothing.
fn body_html(message: &Message) -> String {
    let part_text = |mime: &str| {
        let part = message.payload.as_ref()?.find_by_mime_type(mime)?;
        let bytes = part.body.as_ref()?.decoded()?.ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    };
    if let Some(text) = part_text("text/plain") {
        format!("<pre class=\"body\" id=\"body\">{}</pre>", escape(&text))
    } else if let Some(html) = part_text("text/html") {
        format!(
            "<iframe class=\"body\" id=\"body\" sandbox=\"\" srcdoc=\"{}\"></iframe>",
            escape(&html)
        )
    } else {
        "<p class=\"body\" id=\"body\">(no text in this message)</p>".to_owned()
    }
}

/// `GET /messages/{id}`: one message of the signed-in user.
pub async fn message(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Path(id): Path<String>,
) -> Response {
    let Some(session) = session::current(&jar) else {
        return Redirect::to("/").into_response();
    };
    let fetched = crate::routes::api::for_user(&state, &session, |mailbox| async move {
        mailbox.get_message(&id, MessageFormat::Full, &[]).await
    })
    .await;
    let message = match fetched {
        Ok(message) => message,
        Err(AppError::Reauthorize {
            authorization_url, ..
        }) => {
            return Redirect::to(authorization_url.as_str()).into_response();
        }
        Err(error) => return error.into_page(),
    };
    let header = |name: &str| escape(message.header(name).unwrap_or(""));
    let attachments: String = message
        .attachments()
        .iter()
        .map(|part| format!("<li>{}</li>", escape(&part.filename)))
        .collect();
    let body = format!(
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
        body_html(&message),
    );
    Html(layout("mailgrant", &body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_snippet_entities_are_shown_as_text_and_escaped_once() {
        let snippet =
            "I&#39;m &lt;b&gt;here&lt;/b&gt; &amp; &quot;you&quot; &#x263A; &bogus; & done";
        assert_eq!(
            unescape(snippet),
            "I'm <b>here</b> & \"you\" \u{263A} &bogus; & done"
        );
        assert_eq!(
            escape(&unescape(snippet)),
            "I&#39;m &lt;b&gt;here&lt;/b&gt; &amp; &quot;you&quot; \u{263A} &amp;bogus; &amp; done"
        );
    }
}
