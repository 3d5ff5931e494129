//! Keyphrases by YAKE (Campos et al., 2020): a statistical, corpus-free method that scores each 1-3 word
//! phrase from its terms' casing, position, frequency, spread over sentences and the variety of their
//! neighbours. It needs no model and no other documents, so each document and chunk is tagged on its own.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use docvec_types::{Tag, TagKind, normalise_label as normalise};
use yake_rust::{Config, StopWords, get_n_best};

fn stop_words() -> &'static StopWords {
    static SW: OnceLock<StopWords> = OnceLock::new();
    SW.get_or_init(|| StopWords::predefined("en").expect("the `en` feature is enabled"))
}

/// Up to `n` keyphrases of `text`, most relevant first, as tags with a relevance in (0, 1]. Only the
/// first `max_chars` characters are read, which bounds the cost on very long documents.
pub fn keyphrases(text: &str, n: usize, max_chars: usize) -> Vec<Tag> {
    if n == 0 || text.trim().is_empty() {
        return Vec::new();
    }
    let text = match text.char_indices().nth(max_chars) {
        Some((end, _)) => &text[..end],
        None => text,
    };
    // Words too long to be kept (see `worth_keeping`) are dropped before YAKE sees them: its
    // de-duplication compares candidates by edit distance, quadratic in their length, so one 1 MB
    // run of letters took 55 s.
    let filtered;
    let text = if text.split_whitespace().any(|w| w.len() > MAX_WORD_CHARS) {
        filtered = text
            .split_whitespace()
            .filter(|w| w.chars().count() <= MAX_WORD_CHARS)
            .collect::<Vec<_>>()
            .join(" ");
        filtered.as_str()
    } else {
        text
    };
    let config = Config {
        ngrams: 3,
        ..Config::default()
    };
    // Ask for more than n: some candidates are dropped below (numbers, ids, one-letter noise).
    let Ok(found) = catch_unwind(AssertUnwindSafe(|| {
        get_n_best(n * 3, text, stop_words(), &config)
    })) else {
        // YAKE sorts by a score that is NaN on some degenerate inputs; such a text gets no keyphrases.
        return Vec::new();
    };
    let mut out: Vec<Tag> = Vec::with_capacity(n);
    for item in found {
        let name = normalise(&item.keyword);
        // "json import sys" next to "json import" says nothing new: keep the better-ranked one.
        if !worth_keeping(&name) || out.iter().any(|t| overlaps(&t.name, &name)) {
            continue;
        }
        out.push(Tag {
            name,
            kind: TagKind::Keyphrase,
            score: Some((1.0 / (1.0 + item.score.max(0.0))) as f32),
        });
        if out.len() == n {
            break;
        }
    }
    out
}

/// Whether one phrase holds the other as whole words.
fn overlaps(a: &str, b: &str) -> bool {
    let padded = |s: &str| format!(" {s} ");
    padded(a).contains(&padded(b)) || padded(b).contains(&padded(a))
}

/// The longest keyphrase kept, in characters.
const MAX_WORD_CHARS: usize = 60;

/// Phrases of letters: identifiers full of digits (block ids, hashes, addresses) are not topics.
fn worth_keeping(phrase: &str) -> bool {
    let letters = phrase.chars().filter(|c| c.is_alphabetic()).count();
    let digits = phrase.chars().filter(|c| c.is_ascii_digit()).count();
    letters >= 3 && digits * 3 <= letters && phrase.chars().count() <= MAX_WORD_CHARS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enormous_word_is_skipped_not_compared() {
        // Before: 55 s in YAKE's edit-distance de-duplication. No timing is asserted; a regression
        // shows as this test hanging.
        let text = format!(
            "Kaggle hosts data science competitions. {} Kaggle data science wins. {}",
            "q".repeat(200_000),
            "r".repeat(200_000)
        );
        let tags = keyphrases(&text, 5, usize::MAX);
        assert!(tags.iter().any(|t| t.name.contains("kaggle")), "{tags:?}");
        assert!(tags.iter().all(|t| t.name.len() <= MAX_WORD_CHARS));
    }

    #[test]
    fn finds_the_topic_of_a_paragraph() {
        let text = "Google is acquiring data science community Kaggle. Sources tell us that Google is \
                    acquiring Kaggle, a platform that hosts data science and machine learning competitions. \
                    Kaggle co-founder CEO Anthony Goldbloom declined to deny that the acquisition is happening.";
        let tags = keyphrases(text, 5, 10_000);
        let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
        assert!(names.iter().any(|n| n.contains("kaggle")), "{names:?}");
        assert!(names.iter().any(|n| n.contains("google")), "{names:?}");
        assert!(tags.len() <= 5);
        assert!(tags.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(tags.iter().all(|t| t.kind == TagKind::Keyphrase));
    }

    #[test]
    fn drops_ids_and_handles_degenerate_text() {
        let tags = keyphrases(
            "blk_-1608999687919862906 blk_-1608999687919862906 served block blk_7503483334202473044",
            5,
            10_000,
        );
        assert!(tags.iter().all(|t| !t.name.contains("blk_")), "{tags:?}");
        assert!(keyphrases("", 5, 100).is_empty());
        assert!(keyphrases("!!! ??? ...", 5, 100).is_empty());
        assert!(keyphrases("a", 5, 100).is_empty());
    }

    #[test]
    fn phrases_inside_kept_ones_are_dropped() {
        assert!(overlaps("json import", "json import sys"));
        assert!(overlaps("code block shows", "code block"));
        assert!(!overlaps("code", "codebase"));
        let text = "Preprocessors mutate the book. A preprocessor reads the book as JSON from stdin \
                    and writes the book as JSON to stdout. The book JSON holds chapters.";
        let tags = keyphrases(text, 5, 10_000);
        for (i, a) in tags.iter().enumerate() {
            for b in &tags[i + 1..] {
                assert!(!overlaps(&a.name, &b.name), "{} / {}", a.name, b.name);
            }
        }
    }

    #[test]
    fn normalises_names() {
        assert_eq!(normalise("  Data   Science "), "data science");
    }
}
