//! Google's keys for push tokens: the JSON Web Key Set at `certs_url`,
//! fetched when first needed and kept, by key id, for as long as the answer's
//! `Cache-Control: max-age` says (Google's advice for its OIDC keys:
//! https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken).
//!
//! A token that names a key we do not hold makes us fetch again early, since
//! Google may have rotated its keys; but at most once per
//! `min_refetch_interval`, so a flood of forged key ids costs Google one
//! request per interval, not one per push. Callers that need a fetch at the
//! same time wait for one fetch and share its answer. When a fetch fails, the
//! keys from the last good answer stay usable, even past their max-age.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http::HeaderMap;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use url::Url;

use super::PushRejected;
use crate::http::describe;

/// How long keys are kept when the answer has no `max-age`.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);

pub(crate) struct KeyCache {
    http: reqwest::Client,
    url: Url,
    state: Mutex<State>,
    /// Held while a fetch runs: single-flight.
    fetching: tokio::sync::Mutex<()>,
}

struct State {
    min_refetch_interval: Duration,
    /// The keys of the last good answer, by `kid`.
    keys: HashMap<String, Arc<DecodingKey>>,
    /// Until when that answer is fresh.
    fresh_until: Option<Instant>,
    /// When the last fetch started, good or not.
    last_attempt: Option<Instant>,
    /// Why the last fetch failed; `None` if it succeeded.
    last_error: Option<String>,
    /// How many fetches have ended: tells a waiting caller that another
    /// caller's fetch ran while it waited.
    fetches: u64,
}

impl State {
    fn fresh_key(&self, kid: &str, now: Instant) -> Option<Arc<DecodingKey>> {
        let fresh = self.fresh_until.is_some_and(|until| now < until);
        self.keys.get(kid).filter(|_| fresh).cloned()
    }

    fn may_fetch(&self, now: Instant) -> bool {
        self.last_attempt
            .is_none_or(|at| now.duration_since(at) >= self.min_refetch_interval)
    }

    /// The key after any fetch: possibly stale, unknown, or unavailable
    /// because the keys could not be fetched.
    fn resolve(&self, kid: &str) -> Result<Arc<DecodingKey>, PushRejected> {
        if let Some(key) = self.keys.get(kid) {
            return Ok(key.clone());
        }
        match &self.last_error {
            // Google may have rotated to this key; we cannot tell, and a 503
            // makes Pub/Sub deliver again later.
            Some(cause) => Err(PushRejected::CertsUnavailable {
                cause: cause.clone(),
            }),
            None if self.keys.is_empty() => Err(PushRejected::CertsUnavailable {
                cause: "no keys fetched yet".into(),
            }),
            None => Err(PushRejected::UnknownKey),
        }
    }
}

impl KeyCache {
    pub(crate) fn new(http: reqwest::Client, url: Url, min_refetch_interval: Duration) -> Self {
        Self {
            http,
            url,
            state: Mutex::new(State {
                min_refetch_interval,
                keys: HashMap::new(),
                fresh_until: None,
                last_attempt: None,
                last_error: None,
                fetches: 0,
            }),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn set_min_refetch_interval(&self, interval: Duration) {
        self.lock().min_refetch_interval = interval;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("key cache poisoned")
    }

    /// The key named `kid`, fetching the key set if it is stale or lacks it
    /// (and the last fetch is far enough behind).
    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, PushRejected> {
        let seen = {
            let state = self.lock();
            if let Some(key) = state.fresh_key(kid, Instant::now()) {
                return Ok(key);
            }
            state.fetches
        };
        let _flight = self.fetching.lock().await;
        let fetch = {
            let state = self.lock();
            let now = Instant::now();
            if let Some(key) = state.fresh_key(kid, now) {
                return Ok(key);
            }
            // A fetch that ended while we waited is as recent as ours would be.
            state.fetches == seen && state.may_fetch(now)
        };
        if fetch {
            let started = Instant::now();
            let answer = self.fetch().await;
            let mut state = self.lock();
            state.last_attempt = Some(started);
            state.fetches += 1;
            match answer {
                Ok((keys, max_age)) => {
                    state.keys = keys;
                    state.fresh_until = Some(started + max_age);
                    state.last_error = None;
                }
                Err(cause) => {
                    tracing::warn!(%cause, "could not fetch Google's push token keys");
                    state.last_error = Some(cause);
                }
            }
        }
        self.lock().resolve(kid)
    }

    #[tracing::instrument(skip_all, fields(url = %self.url))]
    async fn fetch(&self) -> Result<(HashMap<String, Arc<DecodingKey>>, Duration), String> {
        let response = self
            .http
            .get(self.url.clone())
            .send()
            .await
            .map_err(describe)?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the certs endpoint answered HTTP {status}"));
        }
        let lifetime = freshness_lifetime(response.headers());
        let body = response.bytes().await.map_err(describe)?;
        let keys = parse_key_set(&body)?;
        tracing::debug!(keys = keys.len(), ?lifetime, "fetched push token keys");
        Ok((keys, lifetime))
    }
}

/// `max-age` less `Age` (RFC 9111 §4.2), or an hour without `max-age`.
fn freshness_lifetime(headers: &HeaderMap) -> Duration {
    let max_age = headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|directive| {
            let (name, value) = directive.trim().split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("max-age")
                .then(|| value.trim().trim_matches('"').parse::<u64>().ok())?
        });
    let Some(max_age) = max_age else {
        return DEFAULT_MAX_AGE;
    };
    let age = headers
        .get(http::header::AGE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(0);
    Duration::from_secs(max_age.saturating_sub(age))
}

#[derive(Deserialize)]
struct KeySet {
    keys: Vec<Jwk>,
}

/// One key of the set (RFC 7517 §4, RFC 7518 §6.3.1); fields we do not use
/// are ignored.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// The RS256 signing keys of a JWK set, by `kid`; other keys are skipped.
fn parse_key_set(body: &[u8]) -> Result<HashMap<String, Arc<DecodingKey>>, String> {
    let set: KeySet = serde_json::from_slice(body)
        .map_err(|e| format!("the certs answer is not a JWK set: {e}"))?;
    let keys: HashMap<_, _> = set
        .keys
        .into_iter()
        .filter(|jwk| jwk.kty == "RSA")
        .filter(|jwk| jwk.alg.as_deref().is_none_or(|alg| alg == "RS256"))
        .filter(|jwk| jwk.use_.as_deref().is_none_or(|use_| use_ == "sig"))
        .filter_map(|jwk| {
            let key = DecodingKey::from_rsa_components(jwk.n.as_deref()?, jwk.e.as_deref()?);
            Some((jwk.kid?, Arc::new(key.ok()?)))
        })
        .collect();
    if keys.is_empty() {
        return Err("the certs answer has no RS256 signing key".into());
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn lifetime_is_max_age_less_age_and_an_hour_without_max_age() {
        let google = [(
            "cache-control",
            "public, max-age=21017, must-revalidate, no-transform",
        )];
        assert_eq!(
            freshness_lifetime(&headers(&google)),
            Duration::from_secs(21017)
        );
        let aged = [("cache-control", "public, Max-Age=100"), ("age", "40")];
        assert_eq!(freshness_lifetime(&headers(&aged)), Duration::from_secs(60));
        assert_eq!(freshness_lifetime(&headers(&[])), DEFAULT_MAX_AGE);
        let no_max_age = [("cache-control", "no-transform")];
        assert_eq!(freshness_lifetime(&headers(&no_max_age)), DEFAULT_MAX_AGE);
    }

    #[test]
    fn key_set_keeps_only_rs256_signing_keys_with_an_id() {
        let body = br#"{"keys":[
            {"kty":"RSA","kid":"a","alg":"RS256","use":"sig","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"b","alg":"RS384","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"c","use":"enc","n":"AQAB","e":"AQAB"},
            {"kty":"EC","kid":"d","crv":"P-256","x":"AQAB","y":"AQAB"},
            {"kty":"RSA","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"f","n":"!!","e":"AQAB"}
        ]}"#;
        let keys = parse_key_set(body).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["a"]);
        assert!(parse_key_set(br#"{"keys":[]}"#).is_err());
        assert!(parse_key_set(b"<html>").is_err());
    }
}
