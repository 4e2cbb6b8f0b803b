//! Word segmentation: jieba's general dictionary (shipped in the crate)
//! plus the domain terms of `data/userdict.txt`, which a deployment can
//! extend. Everything that reads Chinese text in Jiefen segments it here,
//! so classification, repeats and search agree on what a word is.

use jieba_rs::Jieba;

/// The domain terms every deployment starts with.
pub const DOMAIN_DICTIONARY: &str = include_str!("../data/userdict.txt");

#[derive(Debug, thiserror::Error)]
pub enum DictionaryError {
    #[error("user dictionary line {line}: {message}")]
    Line { line: usize, message: String },
}

pub struct Segmenter {
    jieba: Jieba,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Segmenter(..)")
    }
}

impl Segmenter {
    /// jieba's dictionary with the domain terms.
    pub fn new() -> Self {
        let mut s = Self {
            jieba: Jieba::new(),
        };
        s.add_dictionary(DOMAIN_DICTIONARY)
            .expect("the built-in domain dictionary is valid");
        s
    }

    /// Adds the terms of a user dictionary: one per line, `word [freq]
    /// [tag]`; `#` starts a comment. Nothing is added if a line is wrong.
    pub fn add_dictionary(&mut self, text: &str) -> Result<usize, DictionaryError> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let word = parts.next().unwrap_or_default();
            let bad = |message: String| DictionaryError::Line {
                line: i + 1,
                message,
            };
            let freq = parts
                .next()
                .map(|f| {
                    f.parse::<usize>()
                        .map_err(|_| bad(format!("frequency {f:?} is not a number")))
                })
                .transpose()?;
            let tag = parts.next();
            if parts.next().is_some() {
                return Err(bad("more than word, frequency and tag".into()));
            }
            entries.push((word.to_owned(), freq, tag.map(str::to_owned)));
        }
        for (word, freq, tag) in &entries {
            self.jieba.add_word(word, *freq, tag.as_deref());
        }
        Ok(entries.len())
    }

    /// The words of `text` in order (precise mode, with jieba's HMM for
    /// words no dictionary has), without whitespace and punctuation.
    pub fn words<'a>(&self, text: &'a str) -> Vec<&'a str> {
        let mut words = Vec::new();
        self.each_word(text, |w| words.push(w));
        words
    }

    /// Calls `emit` with each word of [`Segmenter::words`], without
    /// collecting them.
    pub fn each_word<'a>(&self, text: &'a str, mut emit: impl FnMut(&'a str)) {
        for token in self.jieba.cut(text, true) {
            // Chinese first: the general Unicode test is slow for it.
            if token
                .word
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c) || c.is_alphanumeric())
            {
                emit(token.word);
            }
        }
    }

    /// Adds words to keep whole, each with the frequency jieba suggests for
    /// joining its characters (so a word added here is cut as one word when
    /// it stands alone). Returns how many were added.
    pub fn add_words<'w>(&mut self, words: impl IntoIterator<Item = &'w str>) -> usize {
        let mut n = 0;
        for word in words {
            let word = word.trim();
            if !word.is_empty() {
                self.jieba.add_word(word, None, None);
                n += 1;
            }
        }
        n
    }

    /// jieba's dictionary, the domain terms and every term of `lexicon`.
    pub fn with_lexicon(lexicon: &crate::lexicon::Lexicon) -> Self {
        let mut s = Self::new();
        s.add_words(lexicon.terms());
        s
    }

    /// Finer words for search: long words also give their dictionary parts
    /// (中华人民共和国 also 中华, 人民, 共和国), so a query for a part finds
    /// the whole.
    pub fn search_words<'a>(&self, text: &'a str) -> Vec<&'a str> {
        self.jieba
            .cut_for_search(text, true)
            .into_iter()
            .map(|t| t.word)
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .collect()
    }
}

impl Default for Segmenter {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_terms_stay_whole() {
        let s = Segmenter::new();
        let words = s.words("小区旁边的搅拌站噪音扰民，物业费也乱收，农民工欠薪三个月。");
        for term in ["搅拌站", "噪音扰民", "物业费", "农民工", "欠薪"] {
            assert!(words.contains(&term), "{term} in {words:?}");
        }
        assert!(!words.contains(&"，"), "no punctuation: {words:?}");
    }

    #[test]
    fn a_deployment_adds_its_own_terms() {
        let mut s = Segmenter::new();
        let before = s.words("请处理东流镇菊花岛违建");
        assert!(!before.contains(&"菊花岛违建"), "{before:?}");
        assert_eq!(s.add_dictionary("# 本地\n菊花岛违建 5000 n\n").unwrap(), 1);
        assert!(s.words("请处理东流镇菊花岛违建").contains(&"菊花岛违建"));
        let err = s.add_dictionary("好词 很多\n").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
