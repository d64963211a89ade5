//! The pieces every HTML page is made of: escaping, the page frame and its
//! one stylesheet.

/// The stylesheet of every page, inlined in `<style>` (the only CSS a page
/// needs, so the page's Content-Security-Policy admits it by its hash).
pub const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#202124}\
header{display:flex;gap:1rem;align-items:center;justify-content:space-between;border-bottom:1px solid #ddd;padding-bottom:.75rem}\
h1{font-size:1.4rem;margin:0}form.inline{display:inline}\
pre.body{white-space:pre-wrap;font:inherit;border-top:1px solid #ddd;padding-top:1rem}iframe.body{width:100%;height:32rem;border:1px solid #ddd}\
table.headers td:first-child{color:#5f6368;width:5rem}h1 a{color:inherit;text-decoration:none}\
.button,button{background:#1a73e8;color:#fff;border:0;border-radius:4px;padding:.5rem 1rem;text-decoration:none;cursor:pointer;font:inherit}\
button.secondary{background:#fff;color:#1a73e8;border:1px solid #dadce0}\
table{width:100%;border-collapse:collapse;margin-top:1rem}td{padding:.4rem .5rem;border-bottom:1px solid #eee;vertical-align:top}\
td.from{width:14rem;font-weight:600}td.date{width:11rem;color:#5f6368;white-space:nowrap}.snippet{color:#5f6368}\
.unread td{background:#f6f9fe}.notice{background:#e8f0fe;padding:.6rem 1rem;border-radius:4px}.error{color:#b3261e}\
.request-id{color:#5f6368;font-size:.85rem}\
input[type=search]{width:60%;padding:.45rem;font:inherit}nav.paging{margin-top:1rem;display:flex;gap:1rem}";

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Undoes the entity escaping Gmail applies to snippets (`I&#39;m`), so that
/// [`escape`] can escape the text once, whatever Google sent.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let entity = rest
            .find(';')
            .filter(|end| *end <= 10)
            .map(|end| &rest[1..end]);
        let decoded = entity.and_then(|e| match e {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => e
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| e.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        });
        match (entity, decoded) {
            (Some(e), Some(c)) => {
                out.push(c);
                rest = &rest[e.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The page frame around `body` (trusted HTML).
pub fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    )
}

/// `text` percent-encoded for a URL's path segment or query value.
pub fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_snippet_entities_are_shown_as_text_and_escaped_once() {
        let snippet =
            "I&#39;m &lt;b&gt;here&lt;/b&gt; &amp; &quot;you&quot; &#x263A; &bogus; & done";
        assert_eq!(
            unescape(snippet),
            "I'm <b>here</b> & \"you\" \u{263A} &bogus; & done"
        );
        assert_eq!(
            escape(&unescape(snippet)),
            "I&#39;m &lt;b&gt;here&lt;/b&gt; &amp; &quot;you&quot; \u{263A} &amp;bogus; &amp; done"
        );
    }
}
