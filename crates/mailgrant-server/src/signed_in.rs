//! The signed-in user as an extractor: a handler that takes a [`SignedIn`]
//! runs only for a signed-in browser. Without a session the request is
//! rejected with the audience's own error (`E`), built from [`NotSignedIn`]:
//! a JSON 401 for the API, a way back to the home page for the browser.

use std::future::Future;
use std::marker::PhantomData;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::Method;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use mailgrant::gmail::Mailbox;
use url::Url;

use crate::failure::Failure;
use crate::session::{self, Session};
use crate::state::AppState;

/// A request that needs a signed-in user came without one.
pub struct NotSignedIn {
    /// Where to connect.
    pub authorization_url: Url,
    /// The request's method: a page opened signed out differs from a form
    /// posted signed out.
    pub method: Method,
}

/// The signed-in user; `E` is the rejection of a request without one.
pub struct SignedIn<E> {
    pub session: Session,
    rejection: PhantomData<fn() -> E>,
}

/// The request's session, unless it is missing, too old, or was ended
/// (logout, disconnect, a new consent) on any replica. A store that cannot
/// tell is a failure, not a signed-out user.
async fn session(parts: &Parts, state: &AppState) -> Result<Option<Session>, Failure> {
    let Some(session) = state.0.cookies.current(&parts.headers) else {
        return Ok(None);
    };
    let valid = session::still_valid(state.0.broker.store().as_ref(), &session)
        .await
        .map_err(|e| Failure::from(mailgrant::Error::from(e)))?;
    Ok(valid.then_some(session))
}

impl<E> FromRequestParts<AppState> for SignedIn<E>
where
    E: From<NotSignedIn> + From<Failure> + IntoResponse,
{
    type Rejection = E;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, E> {
        match session(parts, state).await? {
            Some(session) => Ok(Self {
                session,
                rejection: PhantomData,
            }),
            None => Err(E::from(NotSignedIn {
                authorization_url: state.0.authorize_url.clone(),
                method: parts.method.clone(),
            })),
        }
    }
}

/// `Option<SignedIn<E>>`: for pages that serve both.
impl<E> OptionalFromRequestParts<AppState> for SignedIn<E>
where
    E: From<Failure> + IntoResponse,
{
    type Rejection = E;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, E> {
        Ok(session(parts, state).await?.map(|session| Self {
            session,
            rejection: PhantomData,
        }))
    }
}

impl<E> SignedIn<E> {
    /// Runs a Gmail call for the user; a user whose stored row is gone must
    /// connect again.
    pub async fn gmail<T, F, Fut>(&self, state: &AppState, call: F) -> Result<T, Failure>
    where
        F: FnOnce(Mailbox) -> Fut,
        Fut: Future<Output = Result<T, mailgrant::Error>>,
    {
        match call(state.0.gmail.user(&self.session.user_id)).await {
            Ok(value) => Ok(value),
            Err(mailgrant::Error::UnknownUser(_)) => Err(Failure::Reauthorize {
                authorization_url: state
                    .0
                    .broker
                    .reauthorization_url(self.session.email.as_deref()),
                reason: "no stored credentials for this user".to_owned(),
            }),
            Err(error) => Err(error.into()),
        }
    }
}
