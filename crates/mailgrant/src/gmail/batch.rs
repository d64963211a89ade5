//! The batch wire format (https://developers.google.com/gmail/api/guides/batch;
//! reference §6): a `multipart/mixed` body of `application/http` parts,
//! each a whole request with a path-only URL and a `Content-ID`; the answer
//! is `multipart/mixed` too, one part per call with its own status, whose
//! `Content-ID` is ours with `response-` in front. Calls may run in any
//! order, so answers are matched by `Content-ID`, by position only when
//! Google leaves the id out. Line ends may be CRLF or LF.

use std::fmt::Write as _;

use super::retry::Answer;

/// "You're limited to 100 calls in a single batch request" (batch guide).
pub const MAX_BATCH_SIZE: usize = 100;

/// One outgoing batch.
pub(crate) struct BatchRequest {
    pub content_type: String,
    pub body: Vec<u8>,
    /// Ours in every `Content-ID`: `<{prefix}+{index}>`.
    prefix: String,
}

impl BatchRequest {
    /// A batch of GETs of `targets` (path and query), each labelled with
    /// its index.
    pub fn new(targets: &[(usize, String)]) -> Self {
        let nonce = format!("{:016x}", rand::random::<u64>());
        let boundary = format!("batch_mailgrant_{nonce}");
        let prefix = format!("mailgrant-{nonce}");
        let mut body = String::new();
        for (id, target) in targets {
            // Writing to a String cannot fail.
            let _ = write!(
                body,
                "--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <{prefix}+{id}>\r\n\r\nGET {target} HTTP/1.1\r\n\r\n"
            );
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        Self {
            content_type: format!("multipart/mixed; boundary={boundary}"),
            body: body.into_bytes(),
            prefix,
        }
    }

    /// The answers to `ids` (in that order) found in a batch response;
    /// `None` for a call the response has no answer to. `None` as a whole
    /// when the response is no multipart body.
    pub fn answers(
        &self,
        content_type: &str,
        body: &[u8],
        ids: &[usize],
    ) -> Option<Vec<Option<Answer>>> {
        let mut slots: Vec<Option<Answer>> = vec![None; ids.len()];
        let mut unlabelled = Vec::new();
        for (position, part) in response_parts(content_type, body)?.into_iter().enumerate() {
            let Some(answer) = part.answer else {
                continue;
            };
            let slot = part
                .content_id
                .and_then(|id| self.index_of(&id))
                .and_then(|id| ids.iter().position(|i| *i == id));
            match slot {
                Some(slot) => slots[slot] = Some(answer),
                None => unlabelled.push((position, answer)),
            }
        }
        for (position, answer) in unlabelled {
            if let Some(slot @ None) = slots.get_mut(position) {
                *slot = Some(answer);
            }
        }
        Some(slots)
    }

    /// `<response-{prefix}+{n}>` → n.
    fn index_of(&self, content_id: &str) -> Option<usize> {
        let inner = content_id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        let inner = inner.strip_prefix("response-").unwrap_or(inner);
        let (prefix, n) = inner.rsplit_once('+')?;
        (prefix == self.prefix).then(|| n.parse().ok()).flatten()
    }
}

/// One part of a batch answer as it was read.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct ResponsePart {
    /// The part's `Content-ID`, as sent.
    pub content_id: Option<String>,
    /// The HTTP answer in it; `None` when the part holds none.
    pub answer: Option<Answer>,
}

/// The parts of a batch answer in the order they came; `None` when the
/// content type is no `multipart/mixed` with a boundary. Public, but hidden,
/// for the property tests (`tests/parser_properties.rs`).
#[doc(hidden)]
pub fn response_parts(content_type: &str, body: &[u8]) -> Option<Vec<ResponsePart>> {
    let boundary = boundary(content_type)?;
    let parts = split(body, &boundary).into_iter().map(|part| {
        let (mime_head, http) = split_head(part);
        ResponsePart {
            content_id: header(mime_head, "Content-ID"),
            answer: parse_response(http),
        }
    });
    Some(parts.collect())
}

/// The `boundary` parameter of a `multipart/mixed` content type, quoted or not.
fn boundary(content_type: &str) -> Option<String> {
    let mut fields = content_type.split(';');
    let media = fields.next()?.trim();
    if !media.eq_ignore_ascii_case("multipart/mixed") {
        return None;
    }
    fields
        .filter_map(|f| f.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value.trim().trim_matches('"').to_owned())
        .filter(|b| !b.is_empty())
}

/// The parts between `--boundary` lines (RFC 2046 §5.1.1): the line break
/// before a delimiter belongs to the delimiter; the preamble and what
/// follows `--boundary--` are dropped.
fn split<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let starts: Vec<usize> = memchr::memmem::find_iter(body, delimiter)
        .filter(|&position| position == 0 || body[position - 1] == b'\n')
        .collect();
    let mut parts = Vec::new();
    for (n, &start) in starts.iter().enumerate() {
        let after = start + delimiter.len();
        if body[after..].starts_with(b"--") {
            break;
        }
        let Some(line_end) = body[after..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let content_start = after + line_end + 1;
        let mut end = starts.get(n + 1).copied().unwrap_or(body.len());
        if body[..end].ends_with(b"\r\n") {
            end -= 2;
        } else if body[..end].ends_with(b"\n") {
            end -= 1;
        }
        parts.push(&body[content_start.min(end)..end]);
    }
    parts
}

/// Splits at the first empty line (`\n\n` or `\r\n\r\n`): head and rest.
fn split_head(bytes: &[u8]) -> (&[u8], &[u8]) {
    for i in memchr::memchr_iter(b'\n', bytes) {
        if bytes[i + 1..].starts_with(b"\n") {
            return (&bytes[..i], &bytes[i + 2..]);
        }
        if bytes[i + 1..].starts_with(b"\r\n") {
            return (&bytes[..i], &bytes[i + 3..]);
        }
    }
    (bytes, &[])
}

/// The first header `name` (case-insensitive) of a head.
fn header(head: &[u8], name: &str) -> Option<String> {
    head.split(|&b| b == b'\n').find_map(|line| {
        let colon = memchr::memchr(b':', line)?;
        let (field, value) = (&line[..colon], &line[colon + 1..]);
        field
            .trim_ascii()
            .eq_ignore_ascii_case(name.as_bytes())
            .then(|| String::from_utf8_lossy(value.trim_ascii()).into_owned())
    })
}

/// `HTTP/1.1 404 Not Found`, headers, an empty line, the body.
fn parse_response(http: &[u8]) -> Option<Answer> {
    let start = http.iter().position(|b| !b.is_ascii_whitespace())?;
    let (head, body) = split_head(&http[start..]);
    let status_line = head.split(|&b| b == b'\n').next()?;
    let mut words = status_line
        .split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty());
    if !words.next()?.starts_with(b"HTTP/") {
        return None;
    }
    let status: u16 = std::str::from_utf8(words.next()?).ok()?.parse().ok()?;
    let length = header(head, "Content-Length").and_then(|l| l.parse::<usize>().ok());
    let body = match length {
        Some(length) if length <= body.len() => &body[..length],
        _ => body,
    };
    Some(Answer {
        status,
        retry_after: header(head, "Retry-After"),
        body: body.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> BatchRequest {
        let url = |id: &str| format!("/gmail/v1/users/me/messages/{id}?format=minimal");
        BatchRequest::new(&[(3, url("a")), (7, url("b")), (9, url("c"))])
    }

    #[test]
    fn requests_are_path_only_gets_with_our_content_ids() {
        let batch = request();
        let body = String::from_utf8(batch.body.clone()).unwrap();
        let boundary = boundary(&batch.content_type).unwrap();
        assert_eq!(split(batch.body.as_slice(), &boundary).len(), 3);
        assert!(body.contains(&format!("Content-ID: <{}+7>\r\n\r\nGET /gmail/v1/users/me/messages/b?format=minimal HTTP/1.1\r\n", batch.prefix)));
        assert!(body.ends_with(&format!("--{boundary}--\r\n")));
    }

    #[test]
    fn answers_are_matched_by_content_id_with_lf_or_crlf() {
        let batch = request();
        let p = &batch.prefix;
        for eol in ["\n", "\r\n"] {
            let body = format!(
                "preamble\n--b_1\nContent-Type: application/http\nContent-ID: <response-{p}+9>\n\nHTTP/1.1 404 Not Found\nContent-Type: application/json\n\n{{\"error\":{{\"code\":404}}}}\n--b_1\nContent-Type: application/http\nContent-ID: <response-{p}+3>\n\nHTTP/1.1 200 OK\nContent-Length: 9\n\n{{\"id\":1}}\n--b_1\nContent-Type: application/http\nContent-ID: <response-{p}+7>\n\nHTTP/1.1 429 Too Many Requests\nRetry-After: 2\n\n{{}}\n--b_1--\n"
            )
            .replace('\n', eol);
            let answers = batch
                .answers(
                    "multipart/mixed; boundary=\"b_1\"",
                    body.as_bytes(),
                    &[3, 7, 9],
                )
                .unwrap();
            let statuses: Vec<u16> = answers.iter().map(|a| a.as_ref().unwrap().status).collect();
            assert_eq!(statuses, [200, 429, 404]);
            assert_eq!(answers[0].as_ref().unwrap().body, b"{\"id\":1}");
            assert_eq!(
                answers[1].as_ref().unwrap().retry_after.as_deref(),
                Some("2")
            );
            assert_eq!(
                answers[2].as_ref().unwrap().body,
                b"{\"error\":{\"code\":404}}"
            );
        }
    }

    #[test]
    fn missing_and_unlabelled_answers_are_told_apart() {
        let batch = request();
        let body =
            "--x\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{}\r\n--x--";
        let answers = batch
            .answers("multipart/mixed; boundary=x", body.as_bytes(), &[3, 7, 9])
            .unwrap();
        assert_eq!(answers[0].as_ref().map(|a| a.status), Some(200));
        assert!(answers[1].is_none() && answers[2].is_none());
        assert!(batch.answers("application/json", b"{}", &[3]).is_none());
    }
}
