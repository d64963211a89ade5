//! `GET /`: the connect button, or the signed-in user's messages with search
//! and paging; new mail joins the first page as it arrives ([`live`]).

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use mailgrant::gmail::{ListMessages, Message, MessageFormat};
use serde::Deserialize;

use super::{SignedIn, error_html, live};
use crate::failure::Failure;
use crate::html::{escape, layout, unescape, url_encode};
use crate::state::{AUTHORIZE_PATH, AppState};

const PAGE_SIZE: u32 = 25;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HomeQuery {
    q: Option<String>,
    page_token: Option<String>,
    notice: Option<String>,
}

/// `GET /`.
pub async fn home(
    State(state): State<AppState>,
    user: Option<SignedIn>,
    Query(query): Query<HomeQuery>,
) -> Response {
    let notice = match query.notice.as_deref() {
        Some("access_denied") => "<p class=\"notice\">You did not grant access to your Gmail.</p>",
        Some("disconnected") => {
            "<p class=\"notice\">Disconnected: access was revoked at Google and your stored credentials were deleted.</p>"
        }
        _ => "",
    };
    let Some(user) = user else {
        let body = format!(
            "<header><h1>mailgrant</h1></header>{notice}\
             <p>Let this app read your Gmail while you are away. You will be asked to approve read-only access.</p>\
             <p><a class=\"button\" id=\"connect\" href=\"{AUTHORIZE_PATH}\">Connect Gmail</a></p>"
        );
        return Html(layout("mailgrant", &body)).into_response();
    };
    let header = signed_in_header(&user, &query, notice);
    // New mail belongs on the first page of all mail, not on a search or a
    // later page.
    let all_mail = query.q.as_deref().is_none_or(|q| q.trim().is_empty());
    let live_after = if all_mail && query.page_token.is_none() {
        live::starting_after(state.0.events.store().as_ref(), &user.session.user_id).await
    } else {
        None
    };
    let (list, live_after) = match message_list(&state, &user, &query).await {
        Ok(list) => (list, live_after),
        // The grant is gone: straight back to consent (unless the user just
        // declined there, which shows the page with a reconnect button).
        Err(Failure::Reauthorize {
            authorization_url, ..
        }) if query.notice.is_none() => {
            return Redirect::to(authorization_url.as_str()).into_response();
        }
        Err(Failure::Reauthorize {
            authorization_url, ..
        }) => (
            format!(
                "<p class=\"error\">Your Gmail access has to be renewed.</p>\
                 <p><a class=\"button\" id=\"reconnect\" href=\"{}\">Reconnect Gmail</a></p>",
                escape(authorization_url.as_str())
            ),
            None,
        ),
        // Said on the page (a client Google refuses, Google unreachable:
        // reconnecting would not help). A database or token endpoint outage
        // and a client Google refuses are the page's status too (503), so
        // that a monitor sees them.
        Err(failure) => {
            let page = Html(layout(
                "mailgrant",
                &format!("{header}{}", error_html(&failure)),
            ));
            if !matches!(
                failure,
                Failure::Unavailable { .. } | Failure::ClientMisconfigured(_)
            ) {
                return page.into_response();
            }
            let mut response = (failure.status(), page).into_response();
            failure.add_retry_after(&mut response);
            return response;
        }
    };
    let Some(after) = live_after else {
        return Html(layout("mailgrant", &format!("{header}{list}"))).into_response();
    };
    let page = format!("{header}{}", live::around(after, &list));
    let mut response = Html(layout("mailgrant", &page)).into_response();
    response.extensions_mut().insert(live::policy());
    response
}

fn signed_in_header(user: &SignedIn, query: &HomeQuery, notice: &str) -> String {
    let session = &user.session;
    let who = escape(session.email.as_deref().unwrap_or(&session.user_id));
    format!(
        "<header><h1>mailgrant</h1><div>Signed in as <strong id=\"user\">{who}</strong> \
         <form class=\"inline\" method=\"post\" action=\"/logout\"><button class=\"secondary\">Log out</button></form> \
         <form class=\"inline\" method=\"post\" action=\"/disconnect\"><button class=\"secondary\">Disconnect</button></form>\
         </div></header>{notice}\
         <form method=\"get\" action=\"/\"><input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"Search mail (Gmail operators work)\"> \
         <button>Search</button></form>",
        escape(query.q.as_deref().unwrap_or_default())
    )
}

/// One page of the user's messages, with paging links.
async fn message_list(
    state: &AppState,
    user: &SignedIn,
    query: &HomeQuery,
) -> Result<String, Failure> {
    let q = query.q.clone().unwrap_or_default();
    let params = ListMessages {
        q: query.q.clone(),
        max_results: Some(PAGE_SIZE),
        page_token: query.page_token.clone(),
        ..ListMessages::default()
    };
    let page = user
        .gmail(state, |mailbox| async move {
            mailbox.list_messages(&params).await
        })
        .await?;
    // One batch request for the page's headers, not one request a message.
    let ids: Vec<&str> = page.messages.iter().map(|m| m.id.as_str()).collect();
    let messages = state
        .0
        .gmail
        .user(&user.session.user_id)
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
        format!("<a href=\"/?q={}\">First page</a>", escape(&url_encode(&q)))
    } else {
        String::new()
    };
    Ok(format!("{list}<nav class=\"paging\">{first}{next}</nav>"))
}

fn row(message: &Message) -> String {
    let unread = message.label_ids.iter().any(|l| l == "UNREAD");
    format!(
        "<tr class=\"{}\" data-id=\"{}\"><td class=\"from\">{}</td><td><div class=\"subject\"><a href=\"/messages/{}\">{}</a></div><div class=\"snippet\">{}</div></td><td class=\"date\">{}</td></tr>",
        if unread { "unread" } else { "read" },
        escape(&message.id),
        escape(message.header("From").unwrap_or("")),
        escape(&url_encode(&message.id)),
        escape(message.header("Subject").unwrap_or("(no subject)")),
        escape(&unescape(&message.snippet)),
        escape(message.header("Date").unwrap_or("")),
    )
}
