//! The batch wire format (reference §6; https://developers.google.com/gmail/api/guides/batch):
//! `multipart/mixed` parts of `Content-Type: application/http`, each a
//! whole HTTP request with a path-only URL, and the same for answers.

use std::io::Write as _;

use axum::http::{HeaderMap, StatusCode};

use crate::rfc2822;

/// One request part.
#[derive(Debug, PartialEq, Eq)]
pub struct PartRequest {
    /// The part's `Content-ID`, as sent.
    pub content_id: Option<String>,
    pub method: String,
    /// Path and query; an absolute URL is cut down to them.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The boundary of a `multipart/mixed` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    (rfc2822::media_type(content_type) == "multipart/mixed")
        .then(|| rfc2822::parameter(content_type, "boundary"))
        .flatten()
        .filter(|b| !b.is_empty())
}

/// The `Content-ID` of a part, read before anything else so that even a
/// part that is no HTTP request gets its answer labelled.
pub fn content_id(part: &[u8]) -> Option<String> {
    let (head, _) = rfc2822::split_head(part);
    rfc2822::field(&rfc2822::headers(head), "Content-ID").map(str::to_owned)
}

/// Reads one part: its MIME headers, then the HTTP request inside.
pub fn parse_part(part: &[u8]) -> Result<PartRequest, String> {
    let (head, http) = rfc2822::split_head(part);
    let content_id = rfc2822::field(&rfc2822::headers(head), "Content-ID").map(str::to_owned);
    let (request_head, body) = rfc2822::split_head(http);
    let text = String::from_utf8_lossy(request_head);
    let mut lines = text.lines().skip_while(|l| l.trim().is_empty());
    let request_line = lines.next().ok_or("a batch part holds no HTTP request")?;
    let mut words = request_line.split_whitespace();
    let (Some(method), Some(target)) = (words.next(), words.next()) else {
        return Err(format!("not an HTTP request line: {request_line}"));
    };
    let target = match url::Url::parse(target) {
        Ok(url) => format!(
            "{}{}",
            url.path(),
            url.query().map(|q| format!("?{q}")).unwrap_or_default()
        ),
        Err(_) => target.to_owned(),
    };
    let rest: Vec<&str> = lines.collect();
    Ok(PartRequest {
        content_id,
        method: method.to_ascii_uppercase(),
        target,
        headers: rfc2822::headers(rest.join("\n").as_bytes()),
        body: body.to_vec(),
    })
}

/// The answer's `Content-ID`: the request's with `response-` put in front
/// (reference §6, recorded `<response-…+0>`).
pub fn response_content_id(request_id: &str) -> String {
    let inner = request_id.trim();
    let inner = inner
        .strip_prefix('<')
        .and_then(|i| i.strip_suffix('>'))
        .unwrap_or(inner);
    format!("<response-{inner}>")
}

/// Appends one answer part: MIME headers, status line, the call's headers
/// and its body.
pub fn write_part(
    out: &mut Vec<u8>,
    boundary: &str,
    content_id: Option<&str>,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) {
    // Writing to a Vec cannot fail.
    let _ = write!(out, "--{boundary}\r\nContent-Type: application/http\r\n");
    if let Some(id) = content_id {
        let _ = write!(out, "Content-ID: {}\r\n", response_content_id(id));
    }
    let _ = write!(
        out,
        "\r\nHTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default()
    );
    for (name, value) in headers {
        if name == "content-length" || name == "transfer-encoding" {
            continue;
        }
        write_canonical_name(out, name.as_str());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let _ = write!(out, "Content-Length: {}\r\n\r\n", body.len());
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}

/// `www-authenticate` → `Www-Authenticate`, as HTTP/1.1 servers write them.
fn write_canonical_name(out: &mut Vec<u8>, name: &str) {
    let mut word_start = true;
    for &byte in name.as_bytes() {
        out.push(if word_start {
            byte.to_ascii_uppercase()
        } else {
            byte
        });
        word_start = byte == b'-';
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_parse_with_lf_or_crlf() {
        let lf = b"Content-Type: application/http\nContent-ID: <a+1>\n\nGET /gmail/v1/users/me/profile?alt=json HTTP/1.1\nAuthorization: Bearer t\n\n";
        let crlf = b"Content-Type: application/http\r\n\r\nPOST https://gmail.googleapis.com/gmail/v1/x?y=1 HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{}";
        let a = parse_part(lf).unwrap();
        let b = parse_part(crlf).unwrap();
        assert_eq!(a.content_id.as_deref(), Some("<a+1>"));
        assert_eq!(a.target, "/gmail/v1/users/me/profile?alt=json");
        assert_eq!(
            a.headers,
            [("Authorization".to_owned(), "Bearer t".to_owned())]
        );
        assert_eq!(
            (b.method.as_str(), b.target.as_str()),
            ("POST", "/gmail/v1/x?y=1")
        );
        assert_eq!(b.body, b"{}");
        assert!(parse_part(b"Content-Type: application/http\n\n").is_err());
    }

    #[test]
    fn content_ids_get_response_prefixed() {
        assert_eq!(response_content_id("<abc+0>"), "<response-abc+0>");
        assert_eq!(response_content_id("item1"), "<response-item1>");
        assert_eq!(
            boundary("multipart/mixed; boundary=\"===x==\"").as_deref(),
            Some("===x==")
        );
        assert_eq!(boundary("application/json"), None);
        let mut name = Vec::new();
        write_canonical_name(&mut name, "www-authenticate");
        assert_eq!(name, b"Www-Authenticate");
    }
}
