//! Splitting a `multipart/*` body into its parts (RFC 2046 §5.1.1), for
//! imported messages and batch requests. Lines may end in CRLF or a bare
//! LF: Google's Python client writes batch bodies with LF.

/// The parts between `--boundary` lines, up to `--boundary--` (or the
/// end). The line break before a delimiter belongs to the delimiter, so it
/// is not part of the preceding part. `None` when no delimiter is found.
pub fn split<'a>(body: &'a [u8], boundary: &str) -> Option<Vec<&'a [u8]>> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut parts = Vec::new();
    // Start of the current part's content, once the first delimiter is seen.
    let mut open: Option<usize> = None;
    let mut at = 0;
    while at < body.len() {
        let end = body[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |p| at + p + 1);
        let line = trim_line_end(&body[at..end]);
        if let Some(rest) = line.strip_prefix(delimiter) {
            let rest = trim_spaces(rest);
            let closing = rest == b"--";
            if rest.is_empty() || closing {
                if let Some(start) = open {
                    parts.push(strip_one_line_end(&body[start..at]));
                }
                if closing {
                    return Some(parts);
                }
                open = Some(end);
            }
        }
        at = end;
    }
    let start = open?;
    if start < body.len() {
        parts.push(strip_one_line_end(&body[start..]));
    }
    Some(parts)
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_spaces(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |p| p + 1);
    &bytes[..end]
}

fn strip_one_line_end(bytes: &[u8]) -> &[u8] {
    if let Some(rest) = bytes.strip_suffix(b"\r\n") {
        rest
    } else {
        bytes.strip_suffix(b"\n").unwrap_or(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_crlf_and_lf_bodies_alike() {
        let crlf = b"preamble\r\n--b\r\nA: 1\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\nepilogue";
        let lf = b"--b\nA: 1\n\none\n--b \n\ntwo\n--b--\n";
        assert_eq!(
            split(crlf, "b").unwrap(),
            [&b"A: 1\r\n\r\none"[..], &b"\r\ntwo"[..]]
        );
        assert_eq!(
            split(lf, "b").unwrap(),
            [&b"A: 1\n\none"[..], &b"\ntwo"[..]]
        );
        assert!(split(b"no delimiters", "b").is_none());
    }

    #[test]
    fn a_missing_close_delimiter_ends_at_the_end() {
        assert_eq!(split(b"--b\n\nlast\n", "b").unwrap(), [&b"\nlast"[..]]);
        assert_eq!(split(b"--bx\n--b\n\nok", "b").unwrap(), [&b"\nok"[..]]);
    }
}
