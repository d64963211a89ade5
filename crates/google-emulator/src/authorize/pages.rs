//! The HTML the authorization endpoint shows: Google-style error pages, the
//! consent page, and the `postmessage` hand-over page.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::scopes;
use crate::state::{AuthorizationRequest, User};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

const STYLE: &str = "body{font-family:Roboto,Arial,sans-serif;background:#f0f4f9;margin:0}\
main{max-width:28rem;margin:4rem auto;background:#fff;border-radius:28px;padding:2.5rem}\
h1{font-size:1.5rem;font-weight:400;margin:.5rem 0 1rem}\
.brand{font-size:1.1rem;color:#444}.muted{color:#5f6368;font-size:.9rem}\
ul{padding-left:1.2rem}li{margin:.4rem 0}label{display:block;margin:.4rem 0}\
.buttons{display:flex;justify-content:flex-end;gap:.75rem;margin-top:1.5rem}\
button{border-radius:20px;padding:.6rem 1.5rem;font-size:.95rem;border:1px solid #747775;background:#fff}\
button.primary{background:#0b57d0;color:#fff;border-color:#0b57d0}code{word-break:break-all}\
form.fields input,form.fields select,form.fields textarea{display:block;width:100%;box-sizing:border-box;\
padding:.5rem;margin-top:.2rem;font:inherit}.notice{background:#e8f0fe;padding:.6rem 1rem;border-radius:8px}\
.error{color:#b3261e}";

/// A page in the emulator's Google look around `body` (trusted HTML).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head>\n<body><main>\
         <div class=\"brand\">Google <span class=\"muted\">(emulator)</span></div>\n{body}\n</main></body></html>\n",
        escape(title)
    )
}

/// The page Google shows instead of redirecting, e.g. "Error 400:
/// redirect_uri_mismatch" (reference §1, "Errors shown on a Google page").
pub fn error_page(status: StatusCode, error: &str, detail: &str) -> Response {
    let heading = if status == StatusCode::UNAUTHORIZED {
        "Access blocked: Authorization Error"
    } else {
        "Access blocked: This app's request is invalid"
    };
    let body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n<p><strong>Error {}: {}</strong></p>\n",
        escape(heading),
        escape(detail),
        status.as_u16(),
        escape(error)
    );
    (
        status,
        Html(page(&format!("Error {}: {error}", status.as_u16()), &body)),
    )
        .into_response()
}

/// The consent page: who asks, for what, as whom; Allow or Deny.
pub fn consent_page(
    request_id: &str,
    request: &AuthorizationRequest,
    users: &[User],
    preselected: Option<&str>,
) -> Response {
    let mut scopes_html = String::new();
    for scope in &request.requested {
        let words = scopes::describe(scope).unwrap_or(scope);
        scopes_html.push_str(&format!(
            "<li>{} <span class=\"muted\">({})</span></li>\n",
            escape(words),
            escape(scope)
        ));
    }
    let mut users_html = String::new();
    for (i, user) in users.iter().enumerate() {
        let checked = match preselected {
            Some(id) => id == user.id,
            None => i == 0,
        };
        users_html.push_str(&format!(
            "<label><input type=\"radio\" name=\"user\" value=\"{}\"{}> {} &lt;{}&gt;</label>\n",
            escape(&user.id),
            if checked { " checked" } else { "" },
            escape(&user.name),
            escape(&user.email)
        ));
    }
    if users.is_empty() {
        users_html.push_str("<p class=\"muted\">No accounts exist yet.</p>\n");
    }
    let body = format!(
        "<h1>Sign in to continue</h1>\n\
         <p><code id=\"client-id\">{client}</code> wants to access your Google Account</p>\n\
         <form method=\"post\" action=\"/o/oauth2/v2/auth/decision\">\n\
         <input type=\"hidden\" name=\"request_id\" value=\"{request_id}\">\n\
         <fieldset><legend>Choose an account</legend>\n{users_html}</fieldset>\n\
         <p>This will allow the app to:</p>\n<ul id=\"scopes\">\n{scopes_html}</ul>\n\
         <p class=\"muted\">Redirects to <code>{redirect}</code></p>\n\
         <div class=\"buttons\">\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
         <button type=\"submit\" name=\"decision\" value=\"allow\" class=\"primary\">Allow</button>\
         </div>\n</form>\n",
        client = escape(&request.client_id),
        request_id = escape(request_id),
        redirect = escape(&request.redirect_uri),
    );
    (
        StatusCode::OK,
        Html(page("Sign in - Google Accounts", &body)),
    )
        .into_response()
}

/// For `redirect_uri=postmessage`: hands the code to the opener window, as
/// Google's JavaScript code client does, and shows it for scripts.
pub fn postmessage_page(code: &str, scope: &str, prompt: &str, state: Option<&str>) -> Response {
    let message = serde_json::json!({
        "code": code,
        "scope": scope,
        "authuser": "0",
        "prompt": prompt,
    });
    let body = format!(
        "<h1>Signed in</h1>\n<p>Authorization code:</p>\n<p><code id=\"code\">{}</code></p>\n",
        escape(code)
    );
    hand_over(message, state, "Signed in", &body)
}

/// For `redirect_uri=postmessage`: the error the popup hands to its opener.
pub fn postmessage_error_page(error: &str, state: Option<&str>) -> Response {
    let message = serde_json::json!({ "error": error });
    let body = format!(
        "<h1>Not signed in</h1>\n<p>Error: <code id=\"error\">{}</code></p>\n",
        escape(error)
    );
    hand_over(message, state, "Not signed in", &body)
}

fn hand_over(
    mut message: serde_json::Value,
    state: Option<&str>,
    title: &str,
    body: &str,
) -> Response {
    if let Some(state) = state {
        message["state"] = serde_json::Value::String(state.to_owned());
    }
    // Inside <script>, `</` must not appear; JSON allows `<` as \u003c.
    let message = message.to_string().replace('<', "\\u003c");
    let body = format!(
        "{body}<script>window.opener && window.opener.postMessage({message}, \"*\");</script>\n"
    );
    (StatusCode::OK, Html(page(title, &body))).into_response()
}
