//! "Deliver a message": a page for a person trying mailgrant out
//! (`mailgrant demo`) to send mail to an emulated mailbox from the browser.
//! `GET /emulator/mail` shows the form; `POST /emulator/mail` (form-encoded
//! `to`, `from`, `subject`, `body`) adds the message as
//! `POST /emulator/users/{email}/messages` does, so a watched mailbox is
//! pushed, then redirects back to the form with a notice.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::mailbox::{NewMessage, deliver};
use crate::authorize::pages::{escape, page};
use crate::state::{Shared, lock};

pub const PATH: &str = "/emulator/mail";

pub fn routes() -> Router<Shared> {
    Router::new().route(PATH, get(form).post(send))
}

/// The form's fields (and the query's `to`, `delivered`), from
/// `application/x-www-form-urlencoded` text.
fn fields(text: &[u8]) -> impl Fn(&str) -> Option<String> + use<> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text).into_owned().collect();
    move |name| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_owned())
    }
}

/// `GET /emulator/mail[?to=EMAIL&delivered=SUBJECT]`.
async fn form(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let field = fields(query.unwrap_or_default().as_bytes());
    let to = field("to");
    let notice = match (&to, field("delivered")) {
        (Some(to), Some(subject)) => format!(
            "<p class=\"notice\" id=\"delivered\">Delivered “{}” to {}.</p>\n",
            escape(&subject),
            escape(to)
        ),
        _ => String::new(),
    };
    Html(form_page(&shared, to.as_deref(), &notice)).into_response()
}

/// `POST /emulator/mail`: 303 back to the form, or the form with the reason.
async fn send(State(shared): State<Shared>, body: Bytes) -> Response {
    let field = fields(&body);
    let Some(to) = field("to").filter(|t| !t.is_empty()) else {
        let notice = "<p class=\"error\">Choose whom to deliver to.</p>\n";
        return (
            StatusCode::BAD_REQUEST,
            Html(form_page(&shared, None, notice)),
        )
            .into_response();
    };
    let subject = field("subject").unwrap_or_default();
    let new = NewMessage {
        from: field("from").filter(|f| !f.is_empty()),
        subject: subject.clone(),
        body: field("body").unwrap_or_default(),
        ..NewMessage::default()
    };
    match deliver(&shared, &to, new) {
        Ok(_) => {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("to", &to)
                .append_pair("delivered", &subject)
                .finish();
            (
                StatusCode::SEE_OTHER,
                [(header::LOCATION, format!("{PATH}?{query}"))],
            )
                .into_response()
        }
        Err((status, reason)) => {
            let notice = format!(
                "<p class=\"error\">Not delivered: {}.</p>\n",
                escape(&reason)
            );
            (status, Html(form_page(&shared, Some(&to), &notice))).into_response()
        }
    }
}

/// The form, `to` preselected, under `notice` (trusted HTML).
fn form_page(shared: &Shared, to: Option<&str>, notice: &str) -> String {
    let options: String = lock(shared)
        .users
        .iter()
        .map(|user| {
            let selected = to.is_some_and(|to| to.eq_ignore_ascii_case(&user.email));
            format!(
                "<option value=\"{}\"{}>{} &lt;{}&gt;</option>\n",
                escape(&user.email),
                if selected { " selected" } else { "" },
                escape(&user.name),
                escape(&user.email)
            )
        })
        .collect();
    let body = format!(
        "<h1>Deliver a message</h1>\n{notice}\
         <p class=\"muted\">It arrives as new mail (INBOX, UNREAD), as if sent from outside; \
         a watched mailbox is pushed to its topic.</p>\n\
         <form class=\"fields\" method=\"post\" action=\"{PATH}\">\n\
         <label>To<select name=\"to\" required>\n{options}</select></label>\n\
         <label>From<input name=\"from\" value=\"Emulator Sender &lt;sender@emulator.example&gt;\"></label>\n\
         <label>Subject<input name=\"subject\" value=\"Hello from the emulator\"></label>\n\
         <label>Body<textarea name=\"body\" rows=\"5\">This message was delivered from the emulator&#39;s page.</textarea></label>\n\
         <div class=\"buttons\"><button type=\"submit\" class=\"primary\">Deliver</button></div>\n\
         </form>\n"
    );
    page("Deliver a message - Google emulator", &body)
}
