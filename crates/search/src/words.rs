//! The tokenizer the index and the queries share: jieba's search-mode words
//! (a long word also gives its dictionary parts, so 搅拌 finds 搅拌站), Latin
//! lower-cased, and no token that could be a personal ID number or a phone.

use jiefen_text::Segmenter;
use std::sync::Arc;
use tantivy::tokenizer::{LowerCaser, TextAnalyzer, Token, TokenStream, Tokenizer};

/// The name the schema's text fields use for this tokenizer.
pub const TOKENIZER: &str = "jiefen_words";

#[derive(Clone)]
pub struct Words {
    seg: Arc<Segmenter>,
}

impl Words {
    pub fn new(seg: Arc<Segmenter>) -> Self {
        Self { seg }
    }

    /// The analyzer registered on the index: these words, lower-cased.
    pub fn analyzer(seg: Arc<Segmenter>) -> TextAnalyzer {
        TextAnalyzer::builder(Words::new(seg))
            .filter(LowerCaser)
            .build()
    }
}

/// A run of seven or more digits is never worth searching for and may be a
/// phone or ID number a clerk typed into a description: it is not indexed.
/// An ID number's final check character may be `X`.
pub fn is_number_like(word: &str) -> bool {
    let digits = word.bytes().filter(u8::is_ascii_digit).count();
    digits >= 7
        && word
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'x' || b == b'X' || b == b'-' || b == b' ')
}

/// The indexed words of `text` with their byte offsets, in text order: a
/// query's phrase is cut the same way, so its positions line up.
pub fn in_text_order<'a>(seg: &Segmenter, text: &'a str) -> Vec<(usize, &'a str)> {
    let base = text.as_ptr() as usize;
    // jieba returns slices of `text`, so the offset is where the slice
    // starts. Search mode gives a long word's parts before the word itself;
    // in text order (the whole word first) offsets never go back, which
    // snippets rely on to cut fragments.
    let mut words: Vec<(usize, &str)> = seg
        .search_words(text)
        .into_iter()
        .filter(|w| !is_number_like(w))
        .map(|w| (w.as_ptr() as usize - base, w))
        .collect();
    words.sort_by_key(|(from, w)| (*from, std::cmp::Reverse(w.len())));
    words
}

impl Tokenizer for Words {
    type TokenStream<'a> = WordStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream {
        let words = in_text_order(&self.seg, text);
        let tokens = words
            .into_iter()
            .enumerate()
            .map(|(position, (from, w))| Token {
                offset_from: from,
                offset_to: from + w.len(),
                position,
                text: w.to_owned(),
                position_length: 1,
            })
            .collect::<Vec<_>>();
        WordStream {
            tokens,
            next: 0,
            current: Token::default(),
        }
    }
}

pub struct WordStream {
    tokens: Vec<Token>,
    next: usize,
    current: Token,
}

impl TokenStream for WordStream {
    fn advance(&mut self) -> bool {
        match self.tokens.get_mut(self.next) {
            Some(t) => {
                self.current = std::mem::take(t);
                self.next += 1;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.current
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<(String, usize, usize)> {
        let mut analyzer = Words::analyzer(Arc::new(Segmenter::new()));
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push((t.text.clone(), t.offset_from, t.offset_to));
        }
        out
    }

    #[test]
    fn words_with_their_parts_and_offsets() {
        let text = "小区旁边搅拌站噪音扰民";
        let found = tokens(text);
        for (word, from, to) in &found {
            assert_eq!(&text[*from..*to], word.as_str());
        }
        let words: Vec<_> = found.iter().map(|t| t.0.as_str()).collect();
        for w in ["搅拌站", "噪音", "噪音扰民"] {
            assert!(words.contains(&w), "{w} in {words:?}");
        }
    }

    #[test]
    fn no_phone_or_id_number_is_a_token() {
        let found = tokens("电话13812345678，身份证34170119900101123X，ABC楼3栋");
        let words: Vec<_> = found.iter().map(|t| t.0.as_str()).collect();
        assert!(!words.iter().any(|w| w.contains("1381234")), "{words:?}");
        assert!(!words.iter().any(|w| w.contains("3417011")), "{words:?}");
        assert!(words.contains(&"abc"), "lower-cased: {words:?}");
        assert!(words.contains(&"3"), "short numbers stay: {words:?}");
    }
}
