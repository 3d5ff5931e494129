//! PostScript-ish tokens as CMaps write them: hex strings, names, numbers, keywords and array
//! starts; literal strings, dictionaries and procedures are skipped as `Other`.

#[derive(Debug, PartialEq)]
pub(super) enum Token {
    Hex(Vec<u8>),
    Name(Vec<u8>),
    Number(i64),
    Keyword(Vec<u8>),
    ArrayStart,
    Other,
}

/// PostScript-ish tokens of a CMap; strings and dictionaries are skipped as `Other`.
pub(super) struct Tokens<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Tokens<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Tokens { data, pos: 0 }
    }
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let d = self.data;
        loop {
            while self.pos < d.len() && d[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            if d.get(self.pos) == Some(&b'%') {
                while self.pos < d.len() && d[self.pos] != b'\n' && d[self.pos] != b'\r' {
                    self.pos += 1;
                }
                continue;
            }
            break;
        }
        let start = self.pos;
        let c = *d.get(start)?;
        self.pos += 1;
        Some(match c {
            b'<' if d.get(self.pos) == Some(&b'<') => {
                self.pos += 1;
                Token::Other
            }
            b'<' => {
                let end = d[self.pos..]
                    .iter()
                    .position(|&b| b == b'>')
                    .map_or(d.len(), |e| self.pos + e);
                let hex = hex_bytes(&d[self.pos..end]);
                self.pos = (end + 1).min(d.len());
                Token::Hex(hex)
            }
            b'>' => {
                self.pos += usize::from(d.get(self.pos) == Some(&b'>'));
                Token::Other
            }
            b'[' => Token::ArrayStart,
            b']' | b'{' | b'}' => Token::Other,
            b'(' => {
                self.skip_string();
                Token::Other
            }
            b'/' => Token::Name(self.word().to_vec()),
            _ => {
                self.pos = start;
                let w = self.word();
                if w.is_empty() {
                    self.pos += 1;
                    return Some(Token::Other);
                }
                match std::str::from_utf8(w).ok().and_then(|s| s.parse().ok()) {
                    Some(n) => Token::Number(n),
                    None => Token::Keyword(w.to_vec()),
                }
            }
        })
    }
}

impl<'a> Tokens<'a> {
    fn word(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.pos < self.data.len()
            && !self.data[self.pos].is_ascii_whitespace()
            && !b"/<>[](){}%".contains(&self.data[self.pos])
        {
            self.pos += 1;
        }
        &self.data[start..self.pos]
    }

    /// Past a literal string, counting nested parentheses and skipping escapes.
    fn skip_string(&mut self) {
        let mut depth = 1;
        while self.pos < self.data.len() && depth > 0 {
            match self.data[self.pos] {
                b'\\' => self.pos += 1,
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ => {}
            }
            self.pos += 1;
        }
    }
}

/// Hex digits to bytes, whitespace ignored, an odd last digit padded with 0 (as the spec says).
fn hex_bytes(hex: &[u8]) -> Vec<u8> {
    let digits: Vec<u8> = hex
        .iter()
        .filter_map(|&b| (b as char).to_digit(16).map(|d| d as u8))
        .collect();
    digits
        .chunks(2)
        .map(|p| (p[0] << 4) | p.get(1).copied().unwrap_or(0))
        .collect()
}
