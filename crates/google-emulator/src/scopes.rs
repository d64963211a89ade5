//! The OAuth scopes the emulator knows, how Google words them on its consent
//! screen, and which of them open which endpoint.
//!
//! Google maps the sign-in aliases `email` and `profile` to their canonical
//! URLs: tokens carry the canonical scope (Google+ scopes shutdown notice,
//! https://developers.google.com/+/scopes-shutdown, "the scopes associated
//! with the token will be the canonical scope"), while the authorization
//! redirect lists both forms (reference §1, success redirect). Grants are
//! therefore kept in canonical form.

pub const OPENID: &str = "openid";
pub const USERINFO_EMAIL: &str = "https://www.googleapis.com/auth/userinfo.email";
pub const USERINFO_PROFILE: &str = "https://www.googleapis.com/auth/userinfo.profile";
pub const MAIL_GOOGLE_COM: &str = "https://mail.google.com/";
pub const GMAIL_READONLY: &str = "https://www.googleapis.com/auth/gmail.readonly";
pub const GMAIL_MODIFY: &str = "https://www.googleapis.com/auth/gmail.modify";
pub const GMAIL_METADATA: &str = "https://www.googleapis.com/auth/gmail.metadata";

/// Every scope the authorization endpoint accepts, with the words Google's
/// consent screen uses (Gmail ones from the discovery document's `auth`).
const KNOWN: &[(&str, &str)] = &[
    (OPENID, "Associate you with your personal info on Google"),
    ("email", "See your primary Google Account email address"),
    (
        "profile",
        "See your personal info, including any personal info you've made publicly available",
    ),
    (
        USERINFO_EMAIL,
        "See your primary Google Account email address",
    ),
    (
        USERINFO_PROFILE,
        "See your personal info, including any personal info you've made publicly available",
    ),
    (
        MAIL_GOOGLE_COM,
        "Read, compose, send, and permanently delete all your email from Gmail",
    ),
    (GMAIL_READONLY, "View your email messages and settings"),
    (
        GMAIL_MODIFY,
        "Read, compose, and send emails from your Gmail account",
    ),
    (
        GMAIL_METADATA,
        "View your email message metadata such as labels and headers, but not the email body",
    ),
    (
        "https://www.googleapis.com/auth/gmail.labels",
        "See and edit your email labels",
    ),
    (
        "https://www.googleapis.com/auth/gmail.send",
        "Send email on your behalf",
    ),
    (
        "https://www.googleapis.com/auth/gmail.compose",
        "Manage drafts and send emails",
    ),
    (
        "https://www.googleapis.com/auth/gmail.insert",
        "Add emails into your Gmail mailbox",
    ),
];

/// The consent-screen wording of a known scope.
pub fn describe(scope: &str) -> Option<&'static str> {
    KNOWN.iter().find(|(s, _)| *s == scope).map(|(_, d)| *d)
}

/// The canonical form of a scope: aliases become their userinfo URL.
pub fn canonical(scope: &str) -> &str {
    match scope {
        "email" => USERINFO_EMAIL,
        "profile" => USERINFO_PROFILE,
        other => other,
    }
}

/// Splits a space-delimited `scope` parameter (RFC 6749 §3.3), dropping
/// repeats but keeping the order asked for.
pub fn split(raw: &str) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in raw.split(' ').filter(|s| !s.is_empty()) {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    scopes
}

/// Canonical forms of `scopes`, without repeats, order kept.
pub fn canonicalize(scopes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for scope in scopes {
        let c = canonical(scope);
        if !out.iter().any(|s| s == c) {
            out.push(c.to_owned());
        }
    }
    out
}

/// True when every scope of `wanted` (canonical) is in `held` (canonical).
pub fn covers(held: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|w| held.contains(w))
}

/// Adds to `into` the scopes of `more` it lacks.
pub fn merge(into: &mut Vec<String>, more: &[String]) {
    for scope in more {
        if !into.contains(scope) {
            into.push(scope.clone());
        }
    }
}

/// How much of a mailbox a token may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GmailAccess {
    None,
    /// Only `gmail.metadata`: no `q`, no `full` or `raw` (discovery document).
    MetadataOnly,
    Full,
}

pub fn gmail_access(scopes: &[String]) -> GmailAccess {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    if has(MAIL_GOOGLE_COM) || has(GMAIL_MODIFY) || has(GMAIL_READONLY) {
        GmailAccess::Full
    } else if has(GMAIL_METADATA) {
        GmailAccess::MetadataOnly
    } else {
        GmailAccess::None
    }
}

pub fn has_email(scopes: &[String]) -> bool {
    scopes.iter().any(|s| s == USERINFO_EMAIL)
}

pub fn has_profile(scopes: &[String]) -> bool {
    scopes.iter().any(|s| s == USERINFO_PROFILE)
}

pub fn has_openid(scopes: &[String]) -> bool {
    scopes.iter().any(|s| s == OPENID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_become_canonical_urls() {
        let scopes = canonicalize(&split("openid email  profile email"));
        assert_eq!(scopes, vec![OPENID, USERINFO_EMAIL, USERINFO_PROFILE]);
    }

    #[test]
    fn metadata_alone_is_metadata_only() {
        assert_eq!(
            gmail_access(&[GMAIL_METADATA.to_owned()]),
            GmailAccess::MetadataOnly
        );
        assert_eq!(
            gmail_access(&[GMAIL_METADATA.to_owned(), GMAIL_READONLY.to_owned()]),
            GmailAccess::Full
        );
        assert_eq!(gmail_access(&[OPENID.to_owned()]), GmailAccess::None);
    }
}
