//! Splitting text that is too long for one chunk, at the most natural boundary that fits.

use docvec_types::TokenCounter;

/// Split `text` into pieces of at most `budget` tokens: by lines for code, else by sentences, then by
/// words for any piece still too long, then by characters for a single over-long "word" (a hash, a URL).
/// Returns each piece with its token count.
pub fn split_to_budget(
    text: &str,
    code: bool,
    budget: usize,
    counter: &dyn TokenCounter,
) -> Vec<(String, usize)> {
    let budget = budget.max(1);
    let first: Vec<String> = if code {
        text.lines()
            .map(str::to_string)
            .filter(|l| !l.trim().is_empty())
            .collect()
    } else {
        sentences(text).map(str::to_string).collect()
    };
    let mut out = Vec::new();
    for piece in first {
        let tokens = counter.count_tokens(&piece);
        if tokens <= budget {
            out.push((piece, tokens));
            continue;
        }
        // Too long: pack words into runs of at most `budget` tokens.
        let mut run = String::new();
        let mut run_tokens = 0;
        for word in piece.split_whitespace() {
            let word_tokens = counter.count_tokens(word);
            if word_tokens > budget {
                if !run.is_empty() {
                    out.push((std::mem::take(&mut run), run_tokens));
                    run_tokens = 0;
                }
                out.extend(split_chars(word, budget, counter));
                continue;
            }
            if run_tokens + word_tokens > budget && !run.is_empty() {
                out.push((std::mem::take(&mut run), run_tokens));
                run_tokens = 0;
            }
            if !run.is_empty() {
                run.push(' ');
            }
            run.push_str(word);
            run_tokens += word_tokens;
        }
        if !run.is_empty() {
            out.push((run, run_tokens));
        }
    }
    out
}

/// Halve a whitespace-free string until each piece fits.
fn split_chars(word: &str, budget: usize, counter: &dyn TokenCounter) -> Vec<(String, usize)> {
    let tokens = counter.count_tokens(word);
    let chars: Vec<char> = word.chars().collect();
    if tokens <= budget || chars.len() < 2 {
        return vec![(word.to_string(), tokens)];
    }
    let mid = chars.len() / 2;
    let (a, b): (String, String) = (chars[..mid].iter().collect(), chars[mid..].iter().collect());
    let mut out = split_chars(&a, budget, counter);
    out.extend(split_chars(&b, budget, counter));
    out
}

/// Sentences of prose: a break after `.`, `!` or `?` (optionally closed by a quote or bracket) that is
/// followed by whitespace and then an upper-case letter, digit or opening quote. Never splits inside
/// "e.g. this" or "3.14".
pub fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut cuts = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if matches!(bytes[i], b'.' | b'!' | b'?') {
            let mut j = i + 1;
            while j < bytes.len() && matches!(bytes[j], b'"' | b'\'' | b')' | b']') {
                j += 1;
            }
            let ws_start = j;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if j > ws_start && j < bytes.len() {
                let next = text[j..].chars().next().unwrap_or(' ');
                if next.is_uppercase()
                    || next.is_ascii_digit()
                    || matches!(next, '"' | '(' | '[' | '\'')
                {
                    cuts.push((ws_start, j));
                }
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    let mut pieces = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for (end, next) in cuts {
        pieces.push(&text[start..end]);
        start = next;
    }
    pieces.push(&text[start..]);
    pieces.into_iter().map(str::trim).filter(|s| !s.is_empty())
}
