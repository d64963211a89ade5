//! The one HTTP client every Google call goes through, and its adapter for the
//! `oauth2` crate (which we use without its bundled reqwest 0.12).

use std::time::Duration;

/// Builds the client: no redirects (a token endpoint must never be followed
/// elsewhere, as oauth2-rs's security note says), bounded time.
pub fn client() -> reqwest::Client {
    client_with_timeout(Duration::from_secs(30))
}

/// The same client with another limit on each request.
pub fn client_with_timeout(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .user_agent(concat!("mailgrant/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a client with these settings always builds")
}

/// A transport error with its causes (reqwest's own message alone says only
/// "error sending request"), without the URL: some URLs carry parameters.
pub(crate) fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A request that got no answer; the message has the causes and no URL.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(String);

/// Sends an `oauth2` request with reqwest and hands the answer back unread.
pub(crate) async fn send_oauth2(
    client: reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, TransportError> {
    send(client, request)
        .await
        .map_err(|e| TransportError(describe(e)))
}

async fn send(
    client: reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let response = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut builder = http::Response::builder().status(response.status());
    if let Some(headers) = builder.headers_mut() {
        headers.extend(response.headers().clone());
    }
    let body = response.bytes().await?.to_vec();
    Ok(builder
        .body(body)
        .expect("status and headers come from a valid response"))
}
