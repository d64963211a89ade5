//! The browser side: the pages and the OAuth redirect flow a person walks
//! through. Errors are HTML pages; a user who must (re)connect is sent on to
//! where that happens rather than shown a status.

mod auth;
mod home;
mod live;
mod message;

use axum::Router;
use axum::http::Method;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::failure::Failure;
use crate::html::{escape, layout};
use crate::request;
use crate::signed_in::NotSignedIn;
use crate::state::{AUTHORIZE_PATH, AppState, CALLBACK_PATH};

/// The browser's error: a page, or a redirect to where the user can go on.
#[derive(Debug)]
pub enum PageError {
    /// A page that needs a signed-in user was opened signed out: the home
    /// page offers to connect.
    ToHome,
    Failed(Failure),
}

impl From<Failure> for PageError {
    fn from(failure: Failure) -> Self {
        Self::Failed(failure)
    }
}

impl From<mailgrant::Error> for PageError {
    fn from(error: mailgrant::Error) -> Self {
        Self::Failed(error.into())
    }
}

impl From<NotSignedIn> for PageError {
    /// A page opened signed out goes home; a form posted signed out is told
    /// to sign in.
    fn from(not: NotSignedIn) -> Self {
        if not.method == Method::GET || not.method == Method::HEAD {
            Self::ToHome
        } else {
            Self::Failed(Failure::SignInRequired {
                authorization_url: not.authorization_url,
            })
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::ToHome => Redirect::to("/").into_response(),
            // The grant is gone: straight back through consent.
            Self::Failed(Failure::Reauthorize {
                authorization_url, ..
            }) => Redirect::to(authorization_url.as_str()).into_response(),
            Self::Failed(failure) => {
                let status = failure.status();
                let link = failure
                    .authorization_url()
                    .map_or_else(|| "/".to_owned(), ToString::to_string);
                let body = format!(
                    "<h1>{}</h1>{}<p><a class=\"button\" href=\"{}\">Start again</a></p>",
                    status.canonical_reason().unwrap_or("Error"),
                    error_html(&failure),
                    escape(&link),
                );
                let mut response = (status, Html(layout("mailgrant", &body))).into_response();
                failure.add_retry_after(&mut response);
                response
            }
        }
    }
}

/// The failure's message, and on a server error the request id to quote.
fn error_html(failure: &Failure) -> String {
    let mut html = format!("<p class=\"error\">{}</p>", escape(failure.message()));
    if failure.status().is_server_error()
        && let Some(id) = request::current_id()
    {
        html.push_str(&format!(
            "<p class=\"request-id\">Request id: <code id=\"request-id\">{}</code></p>",
            escape(&id)
        ));
    }
    html
}

/// The signed-in user; signed out, a page goes home and a form gets a 401 page.
pub type SignedIn = crate::signed_in::SignedIn<PageError>;

/// The routes of the browser side.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/messages/{id}", get(message::message))
        .route(live::SCRIPT_PATH, get(live::script))
        .route(AUTHORIZE_PATH, get(auth::authorize))
        .route(CALLBACK_PATH, get(auth::callback))
        .route("/logout", post(auth::logout))
        .route("/disconnect", post(auth::disconnect))
}
