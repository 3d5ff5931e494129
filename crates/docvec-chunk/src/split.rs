//! Splitting text that is too long for one chunk, at the most natural boundary that fits.

use docvec_types::TokenCounter;

/// How much one piece of text may hold: model tokens and bytes.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub tokens: usize,
    pub bytes: usize,
}

impl Limit {
    /// The token count of `text` when it fits. Bytes are checked first: counting the tokens of a text
    /// far too long would read it all.
    pub fn fits(&self, text: &str, counter: &dyn TokenCounter) -> Option<usize> {
        if text.len() > self.bytes {
            return None;
        }
        let tokens = counter.count_tokens(text);
        (tokens <= self.tokens).then_some(tokens)
    }
}

/// Split `text` into pieces within `limit`: by lines for code, else by sentences, then, for any piece
/// still too long, into runs of words of at most `run` tokens, then by characters for a single
/// over-long "word" (a hash, a URL, a blob). Returns each piece with its token count.
pub fn split_to_budget(
    text: &str,
    code: bool,
    limit: Limit,
    run: usize,
    counter: &dyn TokenCounter,
) -> Vec<(String, usize)> {
    let run_cap = run.clamp(1, limit.tokens.max(1));
    let limit = Limit {
        tokens: limit.tokens.max(1),
        bytes: limit.bytes.max(4),
    };
    let first: Vec<&str> = if code {
        text.lines().filter(|l| !l.trim().is_empty()).collect()
    } else {
        sentences(text).collect()
    };
    let mut out = Vec::new();
    for piece in first {
        if let Some(tokens) = limit.fits(piece, counter) {
            out.push((piece.to_string(), tokens));
            continue;
        }
        // Too long: pack words into runs within the limit.
        let mut run = String::new();
        let mut run_tokens = 0;
        for word in piece.split_whitespace() {
            let Some(word_tokens) = limit.fits(word, counter) else {
                if !run.is_empty() {
                    out.push((std::mem::take(&mut run), run_tokens));
                    run_tokens = 0;
                }
                split_chars(word, limit, counter, &mut out);
                continue;
            };
            if !run.is_empty()
                && (run_tokens + word_tokens > run_cap || run.len() + 1 + word.len() > limit.bytes)
            {
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

/// Cut a whitespace-free string into slices of at most `limit.bytes` (on character boundaries), then
/// halve any slice still over the token limit until it fits.
fn split_chars(
    word: &str,
    limit: Limit,
    counter: &dyn TokenCounter,
    out: &mut Vec<(String, usize)>,
) {
    let mut rest = word;
    while !rest.is_empty() {
        let mut end = rest.len().min(limit.bytes);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        // A limit smaller than one character still takes that character.
        if end == 0 {
            end = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let (slice, tail) = rest.split_at(end);
        halve(slice, limit.tokens, counter, out);
        rest = tail;
    }
}

fn halve(slice: &str, budget: usize, counter: &dyn TokenCounter, out: &mut Vec<(String, usize)>) {
    let tokens = counter.count_tokens(slice);
    let mut mid = slice.len() / 2;
    while mid > 0 && !slice.is_char_boundary(mid) {
        mid -= 1;
    }
    if tokens <= budget || mid == 0 {
        out.push((slice.to_string(), tokens));
        return;
    }
    halve(&slice[..mid], budget, counter, out);
    halve(&slice[mid..], budget, counter, out);
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
