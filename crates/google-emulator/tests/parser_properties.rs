//! Property tests of the emulator's parsers of outside input (issue 8, §5):
//! mbox files, RFC 2822 headers and dates, Gmail's `q` search language and
//! batch requests. None may panic on any input, and what is written well
//! reads back as written. 10,000 cases each here;
//! `cargo bench -p google-emulator --bench parser_properties` runs 1,000,000.

#[path = "../../mailgrant/tests/property_common/mod.rs"]
mod property_common;

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use google_emulator::parsers::{
    Address, Expr, Mailbox, PartRequest, Query, Target, Term, addresses, batch_boundary,
    batch_content_id, decode_words, field, headers, import_mbox, media_type, parameter,
    parse_batch_part, parse_date, quoted_printable, split_head, split_mbox, split_multipart,
    write_date,
};
use property_common::{
    bytes, fragments, framing, http_message, line_end, part_body, pattern, properties, text_of,
};
use proptest::prelude::*;

/// 2023-11-14T22:13:20Z, "now" for imports and relative dates.
const NOW_MS: i64 = 1_700_000_000_000;

fn empty_mailbox() -> Mailbox {
    let owner = Address {
        name: "Alice".to_owned(),
        email: "alice@example.com".to_owned(),
    };
    Mailbox::generate(&owner, "u1", 0, NOW_MS)
}

/// Messages to run queries against.
static SEARCHED: LazyLock<Mailbox> = LazyLock::new(|| {
    let owner = Address {
        name: "Bob".to_owned(),
        email: "bob@example.com".to_owned(),
    };
    Mailbox::generate(&owner, "u2", 6, NOW_MS)
});

/// Pieces of mbox files and the messages in them, broken or not.
#[rustfmt::skip]
const MAIL_PIECES: &[&str] = &[
    "From a@b Mon Jan  1 00:00:00 2024\n", "From ", ">From ", ">>From ", "\n", "\r\n", " ", "\t",
    ":", ",", ";", "=", "?", "\"", "<", ">", "(", ")", "é", "\u{2028}", "\\", "Subject: ",
    "From: ", "To: ", "Cc: ", "Date: ", "Message-ID: ", "References: ", "In-Reply-To: ",
    "X-GM-THRID: ", "X-GM-MSGID: ", "X-Gmail-Labels: ", "Inbox,Opened,\"Work, x\",Archived",
    "\"Doe, J\" <j@x.org>", "a@b.c", "<x@y>", "=?UTF-8?B?", "=?utf-8?q?", "=?iso-8859-1?Q?", "?=",
    "SGVsbG8=", "=C3=A9", "=\r\n", "=\n", "_", "Mon, ", "1", "31", "0", "-1", "99", "2024",
    "9223372036854775807", "99999999999999999999", "Jan", "dÉc", "éé", "12:30", "12:30:45",
    "99:99:99", "+0100", "-0700", "+9999", "GMT", "PST", "(comment)", "Content-Type: ",
    "multipart/mixed; boundary=b\n", "multipart/digest; boundary=\"b\"\n",
    "text/html; charset=latin1\n", "text/plain; charset=\"utf-8\"\n", "message/rfc822\n", "--b\n",
    "--b\r\n", "--b--\n", "Content-Transfer-Encoding: base64\n",
    "Content-Transfer-Encoding: quoted-printable\n",
    "Content-Disposition: attachment; filename=\"a.txt\"\n", "name=\"=?UTF-8?B?w6k=?=\"",
    "<p>a &amp; b</p>", "&nbsp;",
];

fn mail_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        bytes(300),
        fragments(MAIL_PIECES, 60).prop_map(String::into_bytes),
        fragments(MAIL_PIECES, 60).prop_map(|text| format!("From x\n{text}").into_bytes()),
    ]
}

/// A display name; `None` for a bare address.
fn display_name() -> impl Strategy<Value = Option<String>> {
    prop::option::of(pattern("[A-Za-z][A-Za-z .,'-]{0,15}"))
}

fn email() -> impl Strategy<Value = String> {
    pattern("[a-z0-9._+-]{1,12}@[a-z0-9-]{1,10}(\\.[a-z]{2,4}){1,2}")
}

/// `Name <a@b>` (quoted when the name holds a comma, or at random),
/// `<a@b>` or `a@b`.
fn write_address(name: &Option<String>, email: &str, quote: bool) -> String {
    match name {
        Some(name) if quote || name.contains(',') => format!("\"{name}\" <{email}>"),
        Some(name) => format!("{name} <{email}>"),
        None if quote => format!("<{email}>"),
        None => email.to_owned(),
    }
}

/// One generated message of an mbox.
#[derive(Clone, Debug)]
struct Mail {
    from: (Option<String>, String),
    to: Vec<(Option<String>, String)>,
    subject: String,
    date_ms: i64,
    offset_minutes: i32,
    body_lines: Vec<String>,
    eol: &'static str,
}

impl Mail {
    fn message_id(index: usize) -> String {
        format!("<{index}.generated@example.net>")
    }

    fn raw(&self, index: usize) -> String {
        let eol = self.eol;
        let (name, email) = &self.from;
        let to: Vec<String> = self
            .to
            .iter()
            .map(|(name, email)| write_address(name, email, false))
            .collect();
        let mut raw = format!(
            "From: {}{eol}To: {}{eol}Subject: {}{eol}Date: {}{eol}Message-ID: {}{eol}{eol}",
            write_address(name, email, false),
            to.join(", "),
            self.subject,
            write_date(self.date_ms, self.offset_minutes),
            Self::message_id(index),
        );
        for line in &self.body_lines {
            raw.push_str(line);
            raw.push_str(eol);
        }
        raw
    }

    fn text(&self) -> String {
        self.body_lines
            .iter()
            .map(|l| format!("{l}{}", self.eol))
            .collect()
    }
}

fn mail() -> impl Strategy<Value = Mail> {
    (
        (display_name(), email()),
        prop::collection::vec((display_name(), email()), 1..4),
        pattern("[A-Za-z0-9 ,.!?'-]{0,40}"),
        0i64..4_102_444_800_000,
        -720i32..=840,
        prop::collection::vec(
            (
                prop::sample::select(&["", "From ", ">From ", ">>From "][..]),
                text_of((' '..='~').chain(['é']), 0..=30),
            )
                .prop_map(|(from, rest)| format!("{from}{rest}")),
            0..6,
        ),
        line_end(),
    )
        .prop_map(
            |(from, to, subject, date_ms, offset_minutes, body_lines, eol)| Mail {
                from,
                to,
                subject,
                date_ms,
                offset_minutes,
                body_lines,
                eol,
            },
        )
}

/// An mbox of messages as mboxrd writes it: a `From ` line before each,
/// `>` put before every line that reads `From ` after its `>`s, and an
/// empty line after each, in the message's own line ends.
fn write_mbox(raws: &[(String, &str)]) -> Vec<u8> {
    let mut mbox = String::new();
    for (raw, eol) in raws {
        mbox.push_str(&format!(
            "From sender@example.net Mon Jan  1 00:00:00 2024{eol}"
        ));
        for line in raw.split_inclusive('\n') {
            if line.trim_start_matches('>').starts_with("From ") {
                mbox.push('>');
            }
            mbox.push_str(line);
        }
        mbox.push_str(eol);
    }
    mbox.into_bytes()
}

/// `value` as RFC 2047 encoded words, each chunk in `B` or `Q`.
fn encoded_word(chunk: &str, base64: bool) -> String {
    if base64 {
        return format!("=?UTF-8?B?{}?=", STANDARD.encode(chunk));
    }
    let mut encoded = String::new();
    for byte in chunk.bytes() {
        match byte {
            b' ' => encoded.push('_'),
            b if b.is_ascii_alphanumeric() => encoded.push(char::from(b)),
            b => encoded.push_str(&format!("={b:02X}")),
        }
    }
    format!("=?utf-8?Q?{encoded}?=")
}

/// Quoted-printable (RFC 2045 §6.7) of `bytes`: lines of at most 76
/// characters, soft breaks in `eol`, hex digits in either case.
fn write_quoted_printable(bytes: &[u8], eol: &str, lower: bool) -> String {
    let mut out = String::new();
    let mut line = 0;
    for &byte in bytes {
        let piece = match byte {
            b'=' => format!("={byte:02X}"),
            33..=126 => char::from(byte).to_string(),
            _ if lower => format!("={byte:02x}"),
            _ => format!("={byte:02X}"),
        };
        if line + piece.len() > 75 {
            out.push('=');
            out.push_str(eol);
            line = 0;
        }
        line += piece.len();
        out.push_str(&piece);
    }
    out
}

/// Pieces of `q`: operators, values that overflow or are no date, letters
/// whose case changes their length.
#[rustfmt::skip]
const QUERY_PIECES: &[&str] = &[
    " ", "(", ")", "{", "}", "\"", "-", "OR", "AND", "or", ":", "from:", "to:", "cc:", "subject:",
    "label:", "is:", "has:", "in:", "category:", "filename:", "rfc822msgid:", "after:", "before:",
    "older:", "newer:", "older_than:", "newer_than:", "larger:", "smaller:", "size:", "unread",
    "attachment", "spam", "trash", "anywhere", "inbox", "me", "2024/01/31", "01/31/2024",
    "2024-13-45", "1700000000", "9223372036854775807", "99999999999999999999", "-1", "0", "3d",
    "2m", "1y", "9999999999999999d", "999999999999999999y", "10K", "5M", "18446744073709551615M",
    "é", "É", "ǅ", "İ", "ß", "alice", "budget", "<a@b>", "/", "*",
];

/// One generated search condition and the term it must parse to.
#[derive(Clone, Debug)]
struct Condition {
    written: String,
    term: Term,
}

/// A quoted phrase's words, the operator words among them.
fn phrase() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => pattern("[A-Za-z0-9 ]{0,20}"),
        1 => prop::sample::select(&["OR", "AND", "a OR b", "-x", "from:y"][..])
            .prop_map(str::to_owned),
    ]
}

fn word() -> impl Strategy<Value = String> {
    pattern("[A-Za-z0-9._@'!]{1,10}").prop_filter("an operator word", |w| w != "OR" && w != "AND")
}

fn condition() -> impl Strategy<Value = Condition> {
    let text_op = prop::sample::select(
        &[
            "from", "to", "cc", "subject", "label", "is", "has", "in", "category", "filename",
        ][..],
    );
    let upper = any::<bool>();
    prop_oneof![
        word().prop_map(|w| Condition {
            term: Term::Text(w.to_lowercase()),
            written: w,
        }),
        phrase().prop_map(|p| Condition {
            term: Term::Text(p.to_lowercase()),
            written: format!("\"{p}\""),
        }),
        (text_op.clone(), upper, pattern("[A-Za-z0-9._@/-]{1,12}")).prop_map(
            |(op, upper, value)| {
                let written_op = if upper {
                    op.to_uppercase()
                } else {
                    op.to_owned()
                };
                Condition {
                    written: format!("{written_op}:{value}"),
                    term: text_term(op, value.to_lowercase()),
                }
            }
        ),
        (text_op, phrase()).prop_map(|(op, value)| Condition {
            written: format!("{op}:\"{value}\""),
            term: text_term(op, value.to_lowercase()),
        }),
        pattern("[a-z0-9.]{1,12}@[a-z]{1,8}").prop_map(|id| Condition {
            written: format!("rfc822msgid:<{id}>"),
            term: Term::MessageId(id),
        }),
        (
            0u64..1 << 40,
            prop::sample::select(&["", "k", "K", "m", "M"][..])
        )
            .prop_map(|(n, unit)| {
                let bytes = match unit {
                    "k" | "K" => n * 1024,
                    "m" | "M" => n * 1024 * 1024,
                    _ => n,
                };
                Condition {
                    written: format!("larger:{n}{unit}"),
                    term: Term::Larger(bytes),
                }
            }),
        (any::<bool>(), 0i64..10_000_000_000).prop_map(|(after, secs)| Condition {
            written: format!("{}:{secs}", if after { "after" } else { "before" }),
            term: if after {
                Term::After(secs * 1000)
            } else {
                Term::Before(secs * 1000)
            },
        }),
    ]
}

fn text_term(op: &str, value: String) -> Term {
    match op {
        "from" => Term::From(value),
        "to" => Term::To(value),
        "cc" => Term::Cc(value),
        "subject" => Term::Subject(value),
        "label" => Term::Label(value),
        "is" => Term::Is(value),
        "has" => Term::Has(value),
        "in" => Term::In(value),
        "category" => Term::Category(value),
        _ => Term::Filename(value),
    }
}

/// A condition, `-` before it or not.
fn maybe_negated() -> impl Strategy<Value = (String, Expr)> {
    (any::<bool>(), condition()).prop_map(|(not, c)| {
        if not {
            (
                format!("-{}", c.written),
                Expr::Not(Box::new(Expr::Term(c.term))),
            )
        } else {
            (c.written, Expr::Term(c.term))
        }
    })
}

/// One item of a query: conditions joined by `OR`, or grouped with `( )`
/// (all) or `{ }` (any).
fn query_item() -> impl Strategy<Value = (String, Expr)> {
    let group = |open: &'static str, close: &'static str, all: bool| {
        prop::collection::vec(maybe_negated(), 0..4).prop_map(move |conditions| {
            let (written, exprs): (Vec<String>, Vec<Expr>) = conditions.into_iter().unzip();
            let expr = if all {
                Expr::And(exprs)
            } else {
                Expr::Or(exprs)
            };
            (format!("{open}{}{close}", written.join(" ")), expr)
        })
    };
    prop_oneof![
        prop::collection::vec(maybe_negated(), 1..4).prop_map(|alternatives| {
            let (written, mut exprs): (Vec<String>, Vec<Expr>) = alternatives.into_iter().unzip();
            let expr = if exprs.len() == 1 {
                exprs.remove(0)
            } else {
                Expr::Or(exprs)
            };
            (written.join(" OR "), expr)
        }),
        group("(", ")", true),
        group("{", "}", false),
    ]
}

/// One part of a batch request as Google's client libraries write it.
#[derive(Clone, Debug)]
struct RequestPart {
    content_id: Option<String>,
    method: String,
    host: Option<&'static str>,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

fn request_part() -> impl Strategy<Value = RequestPart> {
    (
        prop::option::of(pattern("<[a-z0-9-]{1,12}\\+[0-9]{1,3}>")),
        pattern("GET|get|POST|Post|PUT|DELETE|PATCH"),
        prop::option::of(prop::sample::select(
            &["https://gmail.googleapis.com", "http://127.0.0.1:8080"][..],
        )),
        pattern(concat!(
            "/gmail/v1/users/(me|[a-z0-9]{1,8})/[a-z]{1,10}(/[A-Za-z0-9_]{1,16})?",
            "(\\?[a-z]{1,8}=[a-z0-9]{0,8}(&[a-z]{1,8}=[a-z0-9]{0,8}){0,2})?",
        )),
        prop::collection::vec(
            (
                pattern("[A-Za-z][A-Za-z0-9-]{0,15}"),
                "[!-~]([ -~]{0,28}[!-~])?",
            ),
            0..4,
        ),
        part_body(),
    )
        .prop_map(
            |(content_id, method, host, target, headers, body)| RequestPart {
                content_id,
                method,
                host,
                target,
                headers,
                body,
            },
        )
}

impl RequestPart {
    /// The part's HTTP request, lines ending in `eol`.
    fn http(&self, eol: &str) -> String {
        let host = self.host.unwrap_or_default();
        let request_line = format!("{} {host}{} HTTP/1.1", self.method, self.target);
        http_message(&request_line, &self.headers, &self.body, eol)
    }
}

/// Pieces of batch requests, broken or not.
#[rustfmt::skip]
const BATCH_PIECES: &[&str] = &[
    "--b", "--b--", "--", "b", "\n", "\r\n", " ", ":", "Content-Type: application/http\n",
    "Content-ID: <x+1>\n", "GET ", "POST ", "/gmail/v1/users/me/messages/1", "https://",
    "http://[::1", "?a=%zz", " HTTP/1.1", "Authorization: Bearer t\n", "\t", "é", "{}",
];

properties! {
    /// Any bytes imported as an mbox are refused or give one message per
    /// `From ` line that starts one, all of them added to the mailbox.
    fn arbitrary_bytes_never_panic_the_mbox_import(mbox in mail_like_bytes()) {
        let mut mailbox = empty_mailbox();
        let split = split_mbox(&mbox);
        match import_mbox(&mut mailbox, "u1", &mbox, NOW_MS) {
            Ok(count) => {
                prop_assert_eq!(Some(count), split.ok().map(|messages| messages.len()));
                prop_assert_eq!(mailbox.messages.len(), count);
            }
            Err(_) => prop_assert!(split.is_err()),
        }
    }

    /// An mbox written from generated messages splits back into those
    /// messages byte for byte, and imports with their headers and text.
    fn mboxes_of_generated_messages_read_back_message_by_message(
        mails in prop::collection::vec(mail(), 1..5),
    ) {
        let raws: Vec<(String, &str)> =
            mails.iter().enumerate().map(|(i, m)| (m.raw(i), m.eol)).collect();
        let mbox = write_mbox(&raws);
        let split = split_mbox(&mbox).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let split: Vec<String> =
            split.into_iter().map(|m| String::from_utf8_lossy(&m).into_owned()).collect();
        let raws: Vec<String> = raws.into_iter().map(|(raw, _)| raw).collect();
        prop_assert_eq!(&split, &raws);

        let mut mailbox = empty_mailbox();
        let count = import_mbox(&mut mailbox, "u1", &mbox, NOW_MS)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(count, mails.len());
        for (index, mail) in mails.iter().enumerate() {
            let id = Mail::message_id(index);
            let message = mailbox
                .messages
                .iter()
                .find(|m| m.message_id_header == id)
                .ok_or_else(|| TestCaseError::fail(format!("{id} was not imported")))?;
            prop_assert_eq!(&message.subject, mail.subject.trim());
            prop_assert_eq!(message.internal_date_ms, mail.date_ms.div_euclid(1000) * 1000);
            let (name, email) = &mail.from;
            prop_assert_eq!(&message.from.email, email);
            prop_assert_eq!(&message.from.name, name.as_deref().unwrap_or_default().trim());
            let to: Vec<&str> = message.to.iter().map(|a| a.email.as_str()).collect();
            let expected: Vec<&str> = mail.to.iter().map(|(_, e)| e.as_str()).collect();
            prop_assert_eq!(to, expected);
            prop_assert_eq!(&message.text, &mail.text());
        }
    }

    /// Any text goes through every header reader without a panic, and the
    /// head and body found are the start and the end of the input.
    fn arbitrary_text_never_panics_the_rfc2822_readers(
        text in prop_oneof![pattern(".{0,200}"), fragments(MAIL_PIECES, 60)],
    ) {
        let (head, body) = split_head(text.as_bytes());
        prop_assert!(text.as_bytes().starts_with(head) && text.as_bytes().ends_with(body));
        prop_assert!(head.len() + body.len() <= text.len());
        let fields = headers(head);
        for value in [text.as_str()].into_iter().chain(fields.iter().map(|(_, v)| v.as_str())) {
            let _ = field(&fields, value);
            let _ = (parameter(value, "boundary"), media_type(value));
            let _ = (addresses(value), decode_words(value), parse_date(value));
        }
        let _ = quoted_printable(text.as_bytes());
    }

    /// Header fields folded at any space, with CRLF or LF and a space or a
    /// tab, unfold to their names and values.
    fn folded_header_fields_unfold_to_their_values(
        fields in prop::collection::vec(
            (
                pattern("[A-Za-z][A-Za-z0-9-]{0,15}"),
                prop::collection::vec(
                    (pattern("[!-~]{1,10}"), prop::sample::select(&[" ", "\n ", "\n\t"][..])),
                    1..6,
                ),
            ),
            1..6,
        ),
        eol in line_end(),
    ) {
        let mut head = String::new();
        let mut expected = Vec::new();
        for (name, words) in &fields {
            head.push_str(&format!("{name}:"));
            let mut value = Vec::new();
            for (n, (word, gap)) in words.iter().enumerate() {
                let gap = if n == 0 { " " } else { gap };
                head.push_str(&gap.replace('\n', eol));
                head.push_str(word);
                value.push(word.as_str());
            }
            head.push_str(eol);
            expected.push((name.clone(), value.join(" ")));
        }
        prop_assert_eq!(headers(head.as_bytes()), expected);
    }

    /// Text written as RFC 2047 encoded words, `B` or `Q`, side by side,
    /// decodes to the text.
    fn encoded_words_decode_to_their_text(
        chunks in prop::collection::vec((pattern(".{1,12}"), any::<bool>()), 1..4),
        prefix in pattern("[A-Za-z ]{0,8}"),
    ) {
        let words: Vec<String> = chunks.iter().map(|(c, b64)| encoded_word(c, *b64)).collect();
        let text: String = chunks.iter().map(|(c, _)| c.as_str()).collect();
        let written = format!("{prefix}{}", words.join(" "));
        prop_assert_eq!(decode_words(&written), format!("{prefix}{text}"));
    }

    /// An address list of names and addresses, quoted or not, reads back
    /// name by name and address by address.
    fn address_lists_read_back_their_names_and_addresses(
        list in prop::collection::vec((display_name(), email(), any::<bool>()), 1..5),
        separator in prop::sample::select(&[",", ", ", " , "][..]),
    ) {
        let written: Vec<String> = list.iter().map(|(n, e, q)| write_address(n, e, *q)).collect();
        let read = addresses(&written.join(separator));
        let read: Vec<(String, String)> = read.into_iter().map(|a| (a.name, a.email)).collect();
        let expected: Vec<(String, String)> = list
            .iter()
            .map(|(n, e, _)| (n.as_deref().unwrap_or_default().trim().to_owned(), e.clone()))
            .collect();
        prop_assert_eq!(read, expected);
    }

    /// MIME parameters, bare tokens or quoted strings with `;`, `=`, quotes
    /// and backslashes in them, read back; the media type in lower case.
    fn mime_parameters_read_back_quoted_or_bare(
        media in pattern("[A-Za-z]{1,10}/[A-Za-z0-9.+-]{1,12}"),
        params in prop::collection::vec(
            (pattern("[a-z][a-z0-9-]{0,10}"), prop_oneof![
                pattern("[A-Za-z0-9._+-]{1,20}").prop_map(|v| (v, false)),
                pattern("[A-Za-z0-9._+ ;=,:/\"\\\\-]{0,20}").prop_map(|v| (v, true)),
            ]),
            1..5,
        ),
    ) {
        let mut value = media.clone();
        for (name, (param, quoted)) in &params {
            if *quoted {
                let escaped = param.replace('\\', "\\\\").replace('"', "\\\"");
                value.push_str(&format!("; {name}=\"{escaped}\""));
            } else {
                value.push_str(&format!(";{name}={param}"));
            }
        }
        prop_assert_eq!(media_type(&value), media.to_ascii_lowercase());
        for (name, _) in &params {
            let first = params.iter().find(|(n, _)| n == name).map(|(_, (v, _))| v.clone());
            prop_assert_eq!(parameter(&value, name), first);
        }
    }

    /// Any bytes written as quoted-printable, soft line breaks included,
    /// decode to those bytes.
    fn quoted_printable_decodes_to_the_bytes_encoded(
        data in bytes(300),
        eol in line_end(),
        lower in any::<bool>(),
    ) {
        let encoded = write_quoted_printable(&data, eol, lower);
        prop_assert_eq!(quoted_printable(encoded.as_bytes()), data);
    }

    /// A `Date:` the emulator writes reads back to the same second, with or
    /// without its day name and with a comment after it.
    fn dates_written_by_the_emulator_read_back_to_the_second(
        epoch_ms in 0i64..4_102_444_800_000,
        offset_minutes in -720i32..=840,
        without_day in any::<bool>(),
        comment in prop::option::of(pattern("\\([A-Za-z ]{0,10}\\)")),
    ) {
        let mut date = write_date(epoch_ms, offset_minutes);
        if without_day {
            date = date.split_once(", ").map(|(_, rest)| rest.to_owned()).unwrap_or(date);
        }
        if let Some(comment) = comment {
            date = format!("{date} {comment}");
        }
        prop_assert_eq!(parse_date(&date), Some(epoch_ms.div_euclid(1000) * 1000), "{}", date);
    }

    /// Any `q`, thousands of groups deep too, parses, and matching it
    /// against messages does not panic.
    fn arbitrary_queries_never_panic_the_search(
        q in prop_oneof![
            4 => pattern(".{0,100}"),
            4 => fragments(QUERY_PIECES, 30),
            1 => (prop::sample::select(&["(", "{", "-", "-("][..]), 1usize..3000)
                .prop_map(|(open, depth)| format!("{}x", open.repeat(depth))),
        ],
    ) {
        let query = Query::parse_at(&q, NOW_MS);
        for message in &SEARCHED.messages {
            let _ = query.matches(&Target {
                message,
                owner_email: "bob@example.com",
                labels: &SEARCHED.labels,
            });
        }
    }

    /// A `q` of generated conditions, negated, joined with `OR` or grouped,
    /// parses to exactly those conditions.
    fn queries_of_generated_terms_parse_to_those_terms(
        items in prop::collection::vec(query_item(), 0..5),
        gap in prop::sample::select(&[" ", "  ", "\t", " AND "][..]),
    ) {
        let (written, exprs): (Vec<String>, Vec<Expr>) = items.into_iter().unzip();
        let q = written.join(gap);
        let query = Query::parse_at(&q, NOW_MS);
        prop_assert_eq!(query.expr(), &Expr::And(exprs), "q = {}", q);
    }

    /// Any batch request body is read without a panic: into no more parts
    /// than it has delimiters, each part's Content-ID the same however read.
    fn arbitrary_bytes_never_panic_the_batch_request_parser(
        content_type in prop_oneof![
            Just("multipart/mixed; boundary=b".to_owned()),
            fragments(&["multipart/mixed", ";", "boundary", "=", "\"", "b", " ", "\\"], 10),
        ],
        body in prop_oneof![bytes(300), fragments(BATCH_PIECES, 60).prop_map(String::into_bytes)],
    ) {
        let Some(boundary) = batch_boundary(&content_type) else {
            return Ok(());
        };
        let parts = split_multipart(&body, &boundary).unwrap_or_default();
        let delimiters = body.windows(2).filter(|w| w == b"--").count();
        prop_assert!(parts.len() <= delimiters);
        for part in parts {
            let content_id = batch_content_id(part);
            if let Ok(request) = parse_batch_part(part) {
                prop_assert_eq!(request.content_id, content_id);
            }
        }
    }

    /// A batch request of generated parts, with CRLF or LF line ends and a
    /// quoted boundary or not, reads back part by part.
    fn batch_requests_of_generated_parts_read_back_part_by_part(
        parts in prop::collection::vec(request_part(), 1..6),
        framing in framing(),
    ) {
        let boundary = batch_boundary(&framing.content_type);
        prop_assert_eq!(boundary.as_ref(), Some(&framing.boundary));
        let http: Vec<_> =
            parts.iter().map(|p| (p.content_id.clone(), p.http(framing.eol))).collect();
        let body = framing.body(&http);
        let read = split_multipart(&body, &framing.boundary)
            .ok_or_else(|| TestCaseError::fail("no delimiter found"))?;
        prop_assert_eq!(read.len(), parts.len());
        for (read, part) in read.into_iter().zip(&parts) {
            let request = parse_batch_part(read).map_err(TestCaseError::fail)?;
            let expected = PartRequest {
                content_id: part.content_id.clone(),
                method: part.method.to_ascii_uppercase(),
                target: part.target.clone(),
                headers: part.headers.clone(),
                body: part.body.clone().into_bytes(),
            };
            prop_assert_eq!(request, expected);
        }
    }
}
