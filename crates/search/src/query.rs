//! The search box's language, parsed before anything touches the index.
//!
//! ```text
//! 噪音 搅拌站            both words (words side by side must all match)
//! 噪音 OR 粉尘           either
//! 噪音 -夜间, NOT 夜间   without
//! "夜间施工"             the phrase, words in this order
//! title:搅拌站           only in one field (title, description, notes, org, address)
//! category:labour        a filter (kind, state, category, risk, body)
//! (噪音 OR 粉尘) 搅拌站  grouping
//! ```
//!
//! `AND`, `OR` and `NOT` are operators only in capitals, so a query in
//! lower-case English stays words. Chinese has no spaces, so a bare word is
//! segmented and every one of its words must match; a quoted phrase must
//! match in order.

use std::fmt;

/// Where a term is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextField {
    Title,
    Description,
    Notes,
    Org,
    Address,
}

impl TextField {
    pub const ALL: [TextField; 5] = [
        TextField::Title,
        TextField::Description,
        TextField::Notes,
        TextField::Org,
        TextField::Address,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TextField::Title => "title",
            TextField::Description => "description",
            TextField::Notes => "notes",
            TextField::Org => "org",
            TextField::Address => "address",
        }
    }
}

/// Exact-value fields a query may filter on, like the case list's filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterField {
    Kind,
    State,
    Category,
    Risk,
    Body,
}

impl FilterField {
    pub const ALL: [FilterField; 5] = [
        FilterField::Kind,
        FilterField::State,
        FilterField::Category,
        FilterField::Risk,
        FilterField::Body,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FilterField::Kind => "kind",
            FilterField::State => "state",
            FilterField::Category => "category",
            FilterField::Risk => "risk",
            FilterField::Body => "body",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Words to find, in one field or in all of them.
    Words {
        field: Option<TextField>,
        text: String,
    },
    Phrase {
        field: Option<TextField>,
        text: String,
    },
    Filter {
        field: FilterField,
        value: String,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct QueryError {
    /// Character position in the query where the problem is.
    pub at: usize,
    pub message: String,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.at + 1, self.message)
    }
}

/// Queries are typed by people; this bounds what one can make us do.
pub const MAX_QUERY_CHARS: usize = 500;
const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Quoted(String),
    /// `name:` directly before a word or a quoted phrase.
    Field(String),
    And,
    Or,
    Not,
    /// `-` directly before a word.
    Minus,
    Open,
    Close,
}

fn lex(query: &str) -> Result<Vec<(usize, Tok)>, QueryError> {
    let chars: Vec<char> = query.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let is_space = |c: char| c.is_whitespace() || c == '\u{3000}';
    // Full-width quotes and brackets are what a Chinese keyboard types.
    let is_quote = |c: char| matches!(c, '"' | '“' | '”');
    let is_break = |c: char| is_space(c) || is_quote(c) || matches!(c, '(' | ')' | '（' | '）');
    while i < chars.len() {
        let c = chars[i];
        if is_space(c) {
            i += 1;
        } else if c == '(' || c == '（' {
            out.push((i, Tok::Open));
            i += 1;
        } else if c == ')' || c == '）' {
            out.push((i, Tok::Close));
            i += 1;
        } else if is_quote(c) {
            let start = i;
            i += 1;
            let from = i;
            while i < chars.len() && !is_quote(chars[i]) {
                i += 1;
            }
            if i == chars.len() {
                return Err(QueryError {
                    at: start,
                    message: "the quotation mark is not closed".into(),
                });
            }
            out.push((start, Tok::Quoted(chars[from..i].iter().collect())));
            i += 1;
        } else if c == '-' && chars.get(i + 1).is_some_and(|n| !is_break(*n)) {
            out.push((i, Tok::Minus));
            i += 1;
        } else {
            let start = i;
            while i < chars.len() && !is_break(chars[i]) {
                // `name:` ends a field prefix; a colon later in a word (a
                // time, 12:30) is part of the word.
                if (chars[i] == ':' || chars[i] == '：') && i > start {
                    let name: String = chars[start..i].iter().collect();
                    if name.chars().all(|c| c.is_ascii_alphabetic()) {
                        out.push((start, Tok::Field(name.to_ascii_lowercase())));
                        i += 1;
                        break;
                    }
                }
                i += 1;
            }
            if matches!(out.last(), Some((s, Tok::Field(_))) if *s == start) {
                continue;
            }
            let word: String = chars[start..i].iter().collect();
            out.push((
                start,
                match word.as_str() {
                    "AND" => Tok::And,
                    "OR" => Tok::Or,
                    "NOT" => Tok::Not,
                    _ => Tok::Word(word),
                },
            ));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(at, _)| *at)
    }

    fn error(&self, message: impl Into<String>) -> QueryError {
        QueryError {
            at: self.at(),
            message: message.into(),
        }
    }

    fn or(&mut self, depth: usize) -> Result<Expr, QueryError> {
        if depth > MAX_DEPTH {
            return Err(self.error("brackets are nested too deeply"));
        }
        let mut alternatives = vec![self.and(depth)?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            alternatives.push(self.and(depth)?);
        }
        Ok(if alternatives.len() == 1 {
            alternatives.pop().expect("one")
        } else {
            Expr::Or(alternatives)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, QueryError> {
        let mut all = Vec::new();
        loop {
            match self.peek() {
                None | Some(Tok::Or) | Some(Tok::Close) => break,
                Some(Tok::And) => {
                    if all.is_empty() {
                        return Err(self.error("AND needs something before it"));
                    }
                    self.pos += 1;
                    if matches!(self.peek(), None | Some(Tok::Or) | Some(Tok::Close)) {
                        return Err(self.error("AND needs something after it"));
                    }
                }
                Some(_) => all.push(self.unary(depth)?),
            }
        }
        match all.len() {
            0 => Err(self.error("expected a word, a phrase or a bracket")),
            1 => Ok(all.pop().expect("one")),
            _ => Ok(Expr::And(all)),
        }
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, QueryError> {
        match self.peek() {
            Some(Tok::Not) | Some(Tok::Minus) => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.unary(depth + 1)?)))
            }
            _ => self.primary(depth),
        }
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, QueryError> {
        let Some((at, tok)) = self.toks.get(self.pos).cloned() else {
            return Err(self.error("the query ends too soon"));
        };
        self.pos += 1;
        match tok {
            Tok::Word(text) => Ok(Expr::Words { field: None, text }),
            Tok::Quoted(text) => phrase(None, text, at),
            Tok::Open => {
                let inner = self.or(depth + 1)?;
                if self.peek() != Some(&Tok::Close) {
                    return Err(self.error("a bracket is not closed"));
                }
                self.pos += 1;
                Ok(inner)
            }
            Tok::Field(name) => {
                let value_at = self.at();
                let value = match self.toks.get(self.pos).cloned() {
                    Some((_, Tok::Word(w))) => (w, false),
                    Some((_, Tok::Quoted(w))) => (w, true),
                    _ => {
                        return Err(QueryError {
                            at: value_at,
                            message: format!("{name}: needs a word or a quoted phrase after it"),
                        })
                    }
                };
                self.pos += 1;
                field_expr(&name, value, at)
            }
            Tok::Close => Err(QueryError {
                at,
                message: "a closing bracket without an opening one".into(),
            }),
            Tok::And | Tok::Or | Tok::Not | Tok::Minus => Err(QueryError {
                at,
                message: "an operator where a word was expected".into(),
            }),
        }
    }
}

fn phrase(field: Option<TextField>, text: String, at: usize) -> Result<Expr, QueryError> {
    if text.trim().is_empty() {
        return Err(QueryError {
            at,
            message: "the quoted phrase is empty".into(),
        });
    }
    Ok(Expr::Phrase { field, text })
}

fn field_expr(name: &str, (value, quoted): (String, bool), at: usize) -> Result<Expr, QueryError> {
    if let Some(field) = TextField::ALL.into_iter().find(|f| f.name() == name) {
        return if quoted {
            phrase(Some(field), value, at)
        } else {
            Ok(Expr::Words {
                field: Some(field),
                text: value,
            })
        };
    }
    if let Some(field) = FilterField::ALL.into_iter().find(|f| f.name() == name) {
        return Ok(Expr::Filter { field, value });
    }
    let known: Vec<_> = TextField::ALL
        .iter()
        .map(|f| f.name())
        .chain(FilterField::ALL.iter().map(|f| f.name()))
        .collect();
    Err(QueryError {
        at,
        message: format!("unknown field {name:?}; known: {}", known.join(", ")),
    })
}

/// Parses a search box's query. An empty query is an error: the case list,
/// not search, shows everything.
pub fn parse(query: &str) -> Result<Expr, QueryError> {
    let length = query.chars().count();
    if length > MAX_QUERY_CHARS {
        return Err(QueryError {
            at: MAX_QUERY_CHARS,
            message: format!("the query is longer than {MAX_QUERY_CHARS} characters"),
        });
    }
    let toks = lex(query)?;
    if toks.is_empty() {
        return Err(QueryError {
            at: 0,
            message: "the query is empty".into(),
        });
    }
    let mut parser = Parser {
        toks,
        pos: 0,
        end: length,
    };
    let expr = parser.or(0)?;
    if parser.pos < parser.toks.len() {
        return Err(parser.error("a closing bracket without an opening one"));
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Expr {
        Expr::Words {
            field: None,
            text: text.into(),
        }
    }

    #[test]
    fn the_language() {
        assert_eq!(parse("噪音").unwrap(), words("噪音"));
        assert_eq!(
            parse("噪音 搅拌站").unwrap(),
            Expr::And(vec![words("噪音"), words("搅拌站")])
        );
        assert_eq!(
            parse("噪音 AND 搅拌站").unwrap(),
            parse("噪音 搅拌站").unwrap()
        );
        assert_eq!(
            parse("噪音 OR 粉尘 搅拌站").unwrap(),
            Expr::Or(vec![
                words("噪音"),
                Expr::And(vec![words("粉尘"), words("搅拌站")])
            ])
        );
        assert_eq!(
            parse("（噪音 OR 粉尘） -夜间").unwrap(),
            Expr::And(vec![
                Expr::Or(vec![words("噪音"), words("粉尘")]),
                Expr::Not(Box::new(words("夜间")))
            ])
        );
        assert_eq!(
            parse("NOT 夜间").unwrap(),
            Expr::Not(Box::new(words("夜间")))
        );
        assert_eq!(
            parse("title:“夜间 施工” category:labour 12:30").unwrap(),
            Expr::And(vec![
                Expr::Phrase {
                    field: Some(TextField::Title),
                    text: "夜间 施工".into()
                },
                Expr::Filter {
                    field: FilterField::Category,
                    value: "labour".into()
                },
                words("12:30"),
            ])
        );
        assert_eq!(
            parse("a or b").unwrap(),
            Expr::And(vec![words("a"), words("or"), words("b")])
        );
        assert_eq!(parse("3-5号楼").unwrap(), words("3-5号楼"));
    }

    #[test]
    fn mistakes_are_explained_with_a_position() {
        for (query, at, says) in [
            ("", 0, "empty"),
            ("   ", 0, "empty"),
            ("噪音 OR", 5, "expected"),
            ("AND 噪音", 0, "before"),
            ("(噪音", 3, "not closed"),
            ("噪音)", 2, "without an opening"),
            ("\"夜间", 0, "not closed"),
            ("\"\"", 0, "empty"),
            ("who:张三", 0, "unknown field"),
            ("title:", 6, "needs a word"),
        ] {
            let err = parse(query).unwrap_err();
            assert_eq!(err.at, at, "{query}: {err}");
            assert!(err.message.contains(says), "{query}: {err}");
        }
        assert!(parse(&"(".repeat(40))
            .unwrap_err()
            .message
            .contains("deeply"));
        assert!(parse(&"字".repeat(501))
            .unwrap_err()
            .message
            .contains("longer"));
    }
}
