//! What every answer tells the browser about itself, in one layer: no MIME
//! sniffing, no referrer, no caching (answers carry tokens, mail and who the
//! user is), a Content-Security-Policy, and HSTS behind https. And the guard
//! of the browser's state-changing requests against other sites.

use std::sync::LazyLock;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::failure::Failure;
use crate::html::STYLE;
use crate::state::AppState;

/// A year, as browsers' preload lists ask.
const HSTS: &str = "max-age=31536000";
/// Anything that is not a page loads nothing and is framed nowhere.
const NOT_A_PAGE_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// `'sha256-…'` of [`STYLE`], the one stylesheet of every page.
static STYLE_SOURCE: LazyLock<String> = LazyLock::new(|| style_source(STYLE));

/// The CSP source that admits a `<style>` element holding `css`.
pub fn style_source(css: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(css.as_bytes()))
    )
}

/// What a page needs beyond what every page may load (its own stylesheet):
/// set by a handler as a response extension, turned into the page's
/// Content-Security-Policy by [`headers`].
#[derive(Clone, Debug, Default)]
pub struct PagePolicy {
    /// Sources (see [`style_source`]) of further `<style>` elements.
    pub styles: Vec<String>,
    /// `style="…"` attributes apply.
    pub style_attributes: bool,
    /// Images from anywhere (the reader asked for them on this page).
    pub remote_images: bool,
    /// Scripts from this origin (files, never inline), which may fetch from
    /// it: the home page's live message list.
    pub own_scripts: bool,
}

impl PagePolicy {
    /// The Content-Security-Policy of a page. Frames (a message's `srcdoc`)
    /// inherit it, so nothing in a message loads what the page may not.
    fn header(&self, https: bool) -> String {
        let mut styles = vec![STYLE_SOURCE.as_str()];
        styles.extend(self.styles.iter().map(String::as_str));
        let mut policy = format!("default-src 'none'; style-src {}", styles.join(" "));
        if self.style_attributes {
            policy.push_str("; style-src-attr 'unsafe-inline'");
        }
        if self.remote_images {
            // Over https, browsers block or upgrade plain-http images as
            // mixed content anyway; a plain-http deployment shows them.
            policy.push_str(if https {
                "; img-src https: data:"
            } else {
                "; img-src https: http: data:"
            });
        }
        if self.own_scripts {
            policy.push_str("; script-src 'self'; connect-src 'self'");
        }
        policy.push_str("; frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
        policy
    }
}

/// Adds the security headers to every answer.
pub async fn headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let page = response.extensions_mut().remove::<PagePolicy>();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let policy = match (is_html, page) {
        (true, page) => page.unwrap_or_default().header(state.0.https),
        (false, _) => NOT_A_PAGE_POLICY.to_owned(),
    };
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    if state.0.https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}

/// Why a state-changing request comes from another site, if it does. As in
/// Go's `net/http.CrossOriginProtection`: `Sec-Fetch-Site`, when the browser
/// sends it, decides (anything but `same-origin` is refused); otherwise an
/// `Origin` that is not ours is refused. `Sec-Fetch-Site` comes first because
/// `Referrer-Policy: no-referrer` makes browsers send `Origin: null` on our
/// own forms' posts. A request with neither header is not from a browser
/// and passes.
fn cross_site(headers: &HeaderMap, origin: &str) -> Option<String> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return (site != "same-origin").then(|| {
            format!(
                "a {} request may not change anything here",
                site.to_str().unwrap_or("cross-site")
            )
        });
    }
    match headers.get(header::ORIGIN) {
        Some(from) if from != origin => Some(format!(
            "a request from {} may not change anything here, only one from {origin}",
            from.to_str().unwrap_or("another origin")
        )),
        _ => None,
    }
}

/// Refuses, with the audience's 403 (`E`), a state-changing request another
/// site made the browser send. Reads pass: they change nothing, and Google's
/// redirect to the callback is one.
pub async fn same_origin_only<E>(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response
where
    E: From<Failure> + IntoResponse,
{
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    match cross_site(request.headers(), &state.0.origin) {
        Some(reason) if !safe => {
            tracing::warn!(method = %request.method(), path = %request.uri().path(), %reason, "cross-site request refused");
            E::from(Failure::Forbidden(reason)).into_response()
        }
        _ => next.run(request).await,
    }
}
