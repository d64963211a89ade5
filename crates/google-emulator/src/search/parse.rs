//! Tokenizer and parser of `q`.
//!
//! Precedence, loosest first: terms side by side (all must match), then
//! `OR` between two terms (`a b OR c` is `a AND (b OR c)`, as Gmail's
//! search box reads it), then `-` and grouping with `( … )` (all) or
//! `{ … }` (any).

use super::Expr;
use super::term::Term;

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    OpenAny,
    CloseAny,
    Not,
    Or,
    /// `op:value` or a bare word / phrase (`op` empty).
    Atom {
        op: String,
        value: String,
    },
}

/// Groups and negations nested deeper than this are dropped: each level is
/// a recursion, and `((((…` some thousands deep overflowed the stack.
const MAX_DEPTH: usize = 64;

pub fn parse(q: &str, now_ms: i64) -> Expr {
    let mut parser = Parser {
        tokens: tokenize(q),
        pos: 0,
        now_ms,
        depth: 0,
    };
    Expr::And(parser.sequence(None))
}

fn tokenize(q: &str) -> Vec<Token> {
    let chars: Vec<char> = q.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let single = match c {
            '(' => Some(Token::Open),
            ')' => Some(Token::Close),
            '{' => Some(Token::OpenAny),
            '}' => Some(Token::CloseAny),
            '-' if chars.get(i + 1).is_some_and(|n| !n.is_whitespace()) => Some(Token::Not),
            _ => None,
        };
        if c.is_whitespace() {
            i += 1;
        } else if let Some(token) = single {
            tokens.push(token);
            i += 1;
        } else {
            let (op, value, raw, next) = read_atom(&chars, i);
            // Only the upper-case word is the operator (reference §8);
            // `AND` is what side by side already means.
            match raw.as_str() {
                "OR" => tokens.push(Token::Or),
                "AND" => {}
                _ => tokens.push(Token::Atom { op, value }),
            }
            i = next;
        }
    }
    tokens
}

/// Reads `"phrase"`, `op:value`, `op:"phrase"` or a word starting at
/// `start`: (operator, lower-cased value, the word as written, next index).
fn read_atom(chars: &[char], start: usize) -> (String, String, String, usize) {
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
        // As written, quotes and all: `"OR"` is a phrase, not the operator.
        let raw = format!("\"{value}\"");
        return (String::new(), value.to_lowercase(), raw, next);
    }
    let end = chars[start..]
        .iter()
        .position(|&c| c.is_whitespace() || "(){}\"".contains(c))
        .map_or(chars.len(), |p| start + p);
    let word: String = chars[start..end].iter().collect();
    if let Some((op, value)) = word.split_once(':') {
        let op = op.to_lowercase();
        if value.is_empty() && chars.get(end) == Some(&'"') {
            let (value, next) = quoted(end + 1);
            return (op, value.to_lowercase(), word, next);
        }
        return (op, value.to_lowercase(), word.clone(), end);
    }
    (String::new(), word.to_lowercase(), word, end)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    now_ms: i64,
    /// Groups and negations open around the current token.
    depth: usize,
}

impl Parser {
    /// Items up to `close` (consumed) or the end; a closer that does not
    /// match is stray and skipped.
    fn sequence(&mut self, close: Option<&Token>) -> Vec<Expr> {
        let mut items = Vec::new();
        while let Some(token) = self.tokens.get(self.pos) {
            if Some(token) == close {
                self.pos += 1;
                break;
            }
            if matches!(token, Token::Close | Token::CloseAny) {
                self.pos += 1;
                continue;
            }
            if let Some(expr) = self.or_chain() {
                items.push(expr);
            }
        }
        items
    }

    /// `a OR b OR c`, or a single term.
    fn or_chain(&mut self) -> Option<Expr> {
        let first = self.unary()?;
        let mut any = vec![first];
        while self.tokens.get(self.pos) == Some(&Token::Or) {
            self.pos += 1;
            match self.tokens.get(self.pos) {
                None | Some(Token::Close | Token::CloseAny) => break,
                _ => any.extend(self.unary()),
            }
        }
        Some(if any.len() == 1 {
            any.remove(0)
        } else {
            Expr::Or(any)
        })
    }

    fn unary(&mut self) -> Option<Expr> {
        let token = self.tokens.get(self.pos)?.clone();
        self.pos += 1;
        let nests = matches!(token, Token::Not | Token::Open | Token::OpenAny);
        if nests && self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += usize::from(nests);
        let expr = match token {
            Token::Not => self.unary().map(|e| Expr::Not(Box::new(e))),
            Token::Open => Some(Expr::And(self.sequence(Some(&Token::Close)))),
            Token::OpenAny => Some(Expr::Or(self.sequence(Some(&Token::CloseAny)))),
            Token::Close | Token::CloseAny | Token::Or => None,
            Token::Atom { op, value } => {
                let term = if op.is_empty() {
                    Term::Text(value)
                } else {
                    Term::from_operator(&op, &value, self.now_ms)
                        .unwrap_or_else(|| Term::Text(format!("{op}:{value}")))
                };
                Some(Expr::Term(term))
            }
        };
        self.depth -= usize::from(nests);
        expr
    }
}
