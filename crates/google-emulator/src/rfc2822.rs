//! Reading Internet message headers (RFC 5322, formerly 2822): folded
//! header lines, address lists, MIME parameters (RFC 2045 §5.1) and
//! encoded words (RFC 2047). Lenient: mail in the wild is messy.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::mailbox::Address;

/// Splits a message or part into its header block and its body, at the
/// first empty line (CRLF or LF line ends).
pub fn split_head(bytes: &[u8]) -> (&[u8], &[u8]) {
    let mut at = 0;
    while at < bytes.len() {
        let end = bytes[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |p| at + p + 1);
        let line = &bytes[at..end];
        if line == b"\n" || line == b"\r\n" {
            return (&bytes[..at], &bytes[end..]);
        }
        at = end;
    }
    (bytes, &[])
}

/// Header fields in order, folded lines unfolded (RFC 5322 §2.2.3), names
/// as written, values trimmed. Bytes that are not UTF-8 are replaced.
pub fn headers(head: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(head);
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    fields
}

/// The first field called `name` (case-insensitive).
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A MIME parameter of a structured field, e.g. `boundary` of
/// `multipart/mixed; boundary="abc"`, unquoted.
pub fn parameter(value: &str, name: &str) -> Option<String> {
    split_outside_quotes(value, ';')
        .into_iter()
        .skip(1)
        .find_map(|param| {
            let (key, val) = param.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| unquote(val.trim()))
        })
}

/// The media type of a `Content-Type` value, lower case.
pub fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn unquote(value: &str) -> String {
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    inner.replace("\\\"", "\"").replace("\\\\", "\\")
}

/// Splits at `separator`, except inside double quotes or `<…>`.
pub fn split_outside_quotes(value: &str, separator: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut angle, mut escaped) = (false, false, false);
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            c if c == separator && !quoted && !angle => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
}

/// An address list (`To:`, `Cc:`): `Name <a@b>`, `"Last, First" <a@b>`
/// or a bare `a@b`, comma separated.
pub fn addresses(value: &str) -> Vec<Address> {
    split_outside_quotes(value, ',')
        .iter()
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
        .map(address)
        .collect()
}

/// One mailbox (RFC 5322 §3.4), display name decoded.
pub fn address(value: &str) -> Address {
    let value = value.trim();
    match (value.rfind('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => Address {
            name: decode_words(unquote(value[..open].trim()).trim()),
            email: value[open + 1..close].trim().to_owned(),
        },
        _ => Address {
            name: String::new(),
            email: value.to_owned(),
        },
    }
}

/// Decodes RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?UTF-8?Q?…?=`);
/// whitespace between two encoded words is dropped (§6.2). Charsets other
/// than UTF-8 are read as Latin-1, which covers ASCII and ISO-8859-1.
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        // The closing `?=` is looked for after charset and encoding: a Q
        // text may start with `=` (`=?UTF-8?Q?=C3=A9t=C3=A9?=`).
        let word = &rest[start + 2..];
        let decoded = word.split_once('?').and_then(|(charset, word)| {
            let (encoding, word) = word.split_once('?')?;
            let (text, _) = word.split_once("?=")?;
            let bytes = match encoding.to_ascii_uppercase().as_str() {
                "B" => STANDARD
                    .decode(text.trim_end_matches('='))
                    .ok()
                    .or_else(|| {
                        base64::engine::general_purpose::STANDARD_NO_PAD
                            .decode(text.trim_end_matches('='))
                            .ok()
                    })?,
                "Q" => quoted_printable(text.replace('_', " ").as_bytes()),
                _ => return None,
            };
            let len = charset.len() + encoding.len() + text.len() + "=????=".len();
            Some((charset_decode(charset, &bytes), len))
        });
        let gap = &rest[..start];
        match decoded {
            Some((text, len)) => {
                if !(after_word && gap.trim().is_empty()) {
                    out.push_str(gap);
                }
                out.push_str(&text);
                rest = &rest[start + len..];
                after_word = true;
            }
            None => {
                out.push_str(&rest[..start + 2]);
                rest = &rest[start + 2..];
                after_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Bytes in `charset` as a string: UTF-8 (lossy), else Latin-1.
pub fn charset_decode(charset: &str, bytes: &[u8]) -> String {
    let charset = charset.to_ascii_lowercase();
    if charset.is_empty() || charset == "utf-8" || charset == "us-ascii" || charset == "utf8" {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        bytes.iter().map(|&b| char::from(b)).collect()
    }
}

/// Quoted-printable (RFC 2045 §6.7): `=XX` escapes and soft line breaks.
pub fn quoted_printable(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            match (bytes.get(i + 1), bytes.get(i + 2)) {
                (Some(b'\r'), Some(b'\n')) => i += 3,
                (Some(b'\n'), _) => i += 2,
                (Some(&a), Some(&b)) if hex(a).is_some() && hex(b).is_some() => {
                    out.push(hex(a).unwrap_or(0) * 16 + hex(b).unwrap_or(0));
                    i += 3;
                }
                _ => {
                    out.push(b'=');
                    i += 1;
                }
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_headers_are_unfolded() {
        let fields = headers(b"Subject: a long\r\n  subject line\r\nTo: x@y\r\n");
        assert_eq!(field(&fields, "subject"), Some("a long subject line"));
        assert_eq!(field(&fields, "TO"), Some("x@y"));
    }

    #[test]
    fn address_lists_respect_quotes() {
        let list = addresses("\"Doe, Jane\" <jane@x.org>, bob@y.org, =?UTF-8?Q?Jos=C3=A9?= <j@z>");
        let emails: Vec<_> = list.iter().map(|a| a.email.as_str()).collect();
        assert_eq!(emails, ["jane@x.org", "bob@y.org", "j@z"]);
        assert_eq!(list[0].name, "Doe, Jane");
        assert_eq!(list[2].name, "José");
    }

    #[test]
    fn parameters_and_encoded_words_are_decoded() {
        let ct = "multipart/mixed; boundary=\"b1; x\"; charset=utf-8";
        assert_eq!(parameter(ct, "boundary").as_deref(), Some("b1; x"));
        assert_eq!(media_type(ct), "multipart/mixed");
        assert_eq!(
            decode_words("=?utf-8?B?SGVsbG8=?= =?utf-8?Q?_w=C3=B6rld?="),
            "Hello wörld"
        );
        assert_eq!(quoted_printable(b"a=3Db=\r\nc"), b"a=bc");
    }

    #[test]
    fn a_q_encoded_word_may_start_with_an_escape() {
        // Found by tests/parser_properties.rs: the `?=` of `Q?=C3` was taken
        // for the word's end, and the word was left encoded.
        assert_eq!(decode_words("=?UTF-8?Q?=C3=A9t=C3=A9?= x"), "été x");
        assert_eq!(decode_words("=?utf-8?q?=C2=A1?="), "¡");
    }
}
