//! Gmail's `q` search language, the part of it the emulator understands
//! (operators from https://support.google.com/mail/answer/7190 and
//! https://developers.google.com/gmail/api/guides/filtering; reference §8).
//!
//! Understood: plain words (case-insensitive, all must match, against
//! subject, from, to, body and attachment names), `"exact phrase"`, `-term`,
//! `( … )` grouping, `from:`, `to:`, `subject:`, `label:`, `is:`, `has:`,
//! `in:`, `category:`, `filename:`. An operator it does not know is searched
//! as text, as Gmail does with words it does not recognise.
//!
//! To add an operator: a [`Term`] variant, a line in [`Term::from_operator`]
//! and an arm in [`Term::matches`]. To add `OR`, give the parser a level
//! above [`Parser::and`] that splits on the `OR` word.

use crate::mailbox::Message;

/// A parsed `q`.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    expr: Expr,
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    And(Vec<Expr>),
    Not(Box<Expr>),
    Term(Term),
}

/// One search condition. Values are lower-cased.
#[derive(Clone, Debug, PartialEq)]
enum Term {
    /// A word or a quoted phrase, matched as a run of whole words.
    Text(String),
    From(String),
    To(String),
    Subject(String),
    Label(String),
    Is(String),
    Has(String),
    In(String),
    Category(String),
    Filename(String),
}

/// What a message is matched in: the message and whose mailbox it is in
/// (for `from:me` / `to:me`).
pub struct Target<'a> {
    pub message: &'a Message,
    pub owner_email: &'a str,
}

impl Query {
    /// Parses `q`. Gmail's box accepts anything, so parsing never fails:
    /// a stray quote or parenthesis is read as closing at the end.
    pub fn parse(q: &str) -> Self {
        let tokens = tokenize(q);
        let mut parser = Parser { tokens, pos: 0 };
        Self { expr: parser.and() }
    }

    pub fn matches(&self, target: &Target<'_>) -> bool {
        self.expr.matches(target)
    }

    /// True when the query asks for Spam or Trash itself (`in:trash`,
    /// `label:spam`, `in:anywhere`), which then counts as if
    /// `includeSpamTrash` were set.
    pub fn names_spam_or_trash(&self) -> bool {
        self.expr.any_term(&|t| {
            matches!(t, Term::In(v) | Term::Label(v) if v == "spam" || v == "trash" || v == "anywhere")
        })
    }
}

impl Expr {
    fn matches(&self, target: &Target<'_>) -> bool {
        match self {
            Expr::And(all) => all.iter().all(|e| e.matches(target)),
            Expr::Not(inner) => !inner.matches(target),
            Expr::Term(term) => term.matches(target),
        }
    }

    fn any_term(&self, f: &dyn Fn(&Term) -> bool) -> bool {
        match self {
            Expr::And(all) => all.iter().any(|e| e.any_term(f)),
            Expr::Not(inner) => inner.any_term(f),
            Expr::Term(term) => f(term),
        }
    }
}

impl Term {
    fn from_operator(op: &str, value: String) -> Option<Term> {
        Some(match op {
            "from" => Term::From(value),
            "to" => Term::To(value),
            "subject" => Term::Subject(value),
            "label" => Term::Label(value),
            "is" => Term::Is(value),
            "has" => Term::Has(value),
            "in" => Term::In(value),
            "category" => Term::Category(value),
            "filename" => Term::Filename(value),
            _ => return None,
        })
    }

    fn matches(&self, target: &Target<'_>) -> bool {
        let m = target.message;
        let me = |v: &str| {
            if v == "me" {
                target.owner_email.to_owned()
            } else {
                v.to_owned()
            }
        };
        match self {
            Term::Text(v) => {
                contains_words(&m.subject, v)
                    || contains_words(&m.from.header(), v)
                    || m.to.iter().any(|a| contains_words(&a.header(), v))
                    || contains_words(&m.text, v)
                    || m.attachment
                        .as_ref()
                        .is_some_and(|a| contains_words(&a.filename, v))
            }
            Term::From(v) => contains_words(&m.from.header(), &me(v)),
            Term::To(v) => m.to.iter().any(|a| contains_words(&a.header(), &me(v))),
            Term::Subject(v) => contains_words(&m.subject, v),
            Term::Label(v) => has_label(m, &v.replace([' ', '-', '/'], "_")),
            Term::Is(v) => match v.as_str() {
                "unread" => m.has_label("UNREAD"),
                "read" => !m.has_label("UNREAD"),
                "starred" => m.has_label("STARRED"),
                "important" => m.has_label("IMPORTANT"),
                _ => false,
            },
            Term::Has(v) => match v.as_str() {
                "attachment" => m.attachment.is_some(),
                // Generated mailboxes have system labels only.
                "userlabels" => false,
                "nouserlabels" => true,
                _ => false,
            },
            Term::In(v) => v == "anywhere" || has_label(m, v),
            Term::Category(v) if v == "primary" => m.has_label("CATEGORY_PERSONAL"),
            Term::Category(v) => has_label(m, &format!("category_{v}")),
            Term::Filename(v) => m.attachment.as_ref().is_some_and(|a| {
                let name = a.filename.to_lowercase();
                name == *v || name.ends_with(&format!(".{v}")) || contains_words(&name, v)
            }),
        }
    }
}

fn has_label(message: &Message, lowercase_id: &str) -> bool {
    message
        .label_ids
        .iter()
        .any(|l| l.to_lowercase() == lowercase_id)
}

/// Lower-cased alphanumeric words of `text`.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// True when the words of `needle` appear consecutively among the words of
/// `haystack`. Gmail matches whole words, not substrings ("meet" does not
/// find "meeting"), and an address like `bob@example.com` as its parts.
fn contains_words(haystack: &str, needle: &str) -> bool {
    let needle = words(needle);
    if needle.is_empty() {
        return true;
    }
    let hay = words(haystack);
    hay.windows(needle.len()).any(|w| w == needle.as_slice())
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    Not,
    /// `op:value` or a bare word / phrase (`op` empty).
    Atom {
        op: String,
        value: String,
    },
}

fn tokenize(q: &str) -> Vec<Token> {
    let chars: Vec<char> = q.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            tokens.push(Token::Open);
            i += 1;
        } else if c == ')' {
            tokens.push(Token::Close);
            i += 1;
        } else if c == '-' && chars.get(i + 1).is_some_and(|n| !n.is_whitespace()) {
            tokens.push(Token::Not);
            i += 1;
        } else {
            let (op, value, next) = read_atom(&chars, i);
            tokens.push(Token::Atom { op, value });
            i = next;
        }
    }
    tokens
}

/// Reads `"phrase"`, `op:value`, `op:"phrase"` or a word starting at `start`.
fn read_atom(chars: &[char], start: usize) -> (String, String, usize) {
    let quoted = |from: usize| {
        let end = chars[from..]
            .iter()
            .position(|&c| c == '"')
            .map_or(chars.len(), |p| from + p);
        (
            chars[from..end].iter().collect::<String>(),
            (end + 1).min(chars.len()),
        )
    };
    if chars[start] == '"' {
        let (value, next) = quoted(start + 1);
        return (String::new(), value.to_lowercase(), next);
    }
    let end = chars[start..]
        .iter()
        .position(|&c| c.is_whitespace() || c == '(' || c == ')' || c == '"')
        .map_or(chars.len(), |p| start + p);
    let word: String = chars[start..end].iter().collect();
    if let Some((op, value)) = word.split_once(':') {
        let op = op.to_lowercase();
        if value.is_empty() && chars.get(end) == Some(&'"') {
            let (value, next) = quoted(end + 1);
            return (op, value.to_lowercase(), next);
        }
        return (op, value.to_lowercase(), end);
    }
    (String::new(), word.to_lowercase(), end)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    /// A run of terms, all of which must match, up to `)` or the end.
    fn and(&mut self) -> Expr {
        let mut all = Vec::new();
        while let Some(token) = self.tokens.get(self.pos) {
            if *token == Token::Close {
                self.pos += 1;
                break;
            }
            if let Some(expr) = self.unary() {
                all.push(expr);
            }
        }
        Expr::And(all)
    }

    fn unary(&mut self) -> Option<Expr> {
        let token = self.tokens.get(self.pos)?.clone();
        self.pos += 1;
        match token {
            Token::Not => self.unary().map(|e| Expr::Not(Box::new(e))),
            Token::Open => Some(self.and()),
            Token::Close => None,
            Token::Atom { op, value } => {
                let term = if op.is_empty() {
                    Term::Text(value)
                } else {
                    Term::from_operator(&op, value.clone())
                        .unwrap_or_else(|| Term::Text(format!("{op}:{value}")))
                };
                Some(Expr::Term(term))
            }
        }
    }
}

#[cfg(test)]
mod tests;
