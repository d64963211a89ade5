//! Gmail's `q` search language, the part of it the emulator understands
//! (operators from https://support.google.com/mail/answer/7190 and
//! https://developers.google.com/gmail/api/guides/filtering; reference §8).
//!
//! Understood: plain words (case-insensitive, all must match, against
//! subject, addresses, body and attachment names), `"exact phrase"`,
//! `-term` or `-( … )` negation, `( … )` grouping, `OR` (upper case) and
//! `{a b}`, and the operators `from:` `to:` `cc:` `subject:` `label:` `is:`
//! `has:` `in:` `category:` `filename:` `rfc822msgid:` `after:` `before:`
//! `older:` `newer:` `older_than:` `newer_than:` `larger:` `smaller:`
//! `size:`. An operator it does not know is searched as text, as Gmail
//! does with words it does not recognise.
//!
//! To add an operator: a [`term::Term`] variant, a line in
//! `Term::from_operator` and an arm in `Term::matches`.

mod dates;
mod parse;
mod term;

use crate::mailbox::{Message, UserLabel};
pub use term::Term;

/// A parsed `q`.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    expr: Expr,
}

/// A parsed `q` as a tree: terms side by side are `And`, `OR` and `{ }`
/// are `Or`, `-` is `Not`.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Term(Term),
}

/// What a message is matched in: the message, whose mailbox it is in (for
/// `from:me` / `to:me`) and that mailbox's user labels (for `label:`).
pub struct Target<'a> {
    pub message: &'a Message,
    pub owner_email: &'a str,
    pub labels: &'a [UserLabel],
}

impl Query {
    /// Parses `q`, relative dates (`newer_than:2d`) counted back from
    /// `now_ms`. Gmail's box accepts anything, so parsing never fails: a
    /// stray quote or parenthesis is read as closing at the end.
    pub fn parse_at(q: &str, now_ms: i64) -> Self {
        Self {
            expr: parse::parse(q, now_ms),
        }
    }

    pub fn matches(&self, target: &Target<'_>) -> bool {
        self.expr.matches(target)
    }

    /// The query's tree (for the property tests).
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// True when the query asks for Spam or Trash itself (`in:trash`,
    /// `label:spam`, `in:anywhere`, not negated), which then counts as if
    /// `includeSpamTrash` were set.
    pub fn names_spam_or_trash(&self) -> bool {
        self.expr.any_positive_term(&|t| {
            matches!(t, Term::In(v) | Term::Label(v) if v == "spam" || v == "trash" || v == "anywhere")
        })
    }
}

impl Expr {
    fn matches(&self, target: &Target<'_>) -> bool {
        match self {
            Expr::And(all) => all.iter().all(|e| e.matches(target)),
            Expr::Or(any) => any.iter().any(|e| e.matches(target)),
            Expr::Not(inner) => !inner.matches(target),
            Expr::Term(term) => term.matches(target),
        }
    }

    fn any_positive_term(&self, f: &dyn Fn(&Term) -> bool) -> bool {
        match self {
            Expr::And(all) | Expr::Or(all) => all.iter().any(|e| e.any_positive_term(f)),
            Expr::Not(_) => false,
            Expr::Term(term) => f(term),
        }
    }
}

#[cfg(test)]
mod tests;
