use docvec_types::{Block, BlockKind, Format, ParsedDocument, Section, TokenCounter};

use super::*;

/// One token per whitespace-separated word: easy to reason about in tests.
struct Words;

impl TokenCounter for Words {
    fn count_tokens(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }
}

fn doc(blocks: &[(&str, BlockKind)]) -> ParsedDocument {
    let mut d = ParsedDocument::new(Format::Markdown);
    let mut s = Section::untitled();
    s.heading = Some("Intro".into());
    s.heading_path = vec!["Intro".into()];
    s.level = 1;
    s.blocks = blocks
        .iter()
        .map(|(t, k)| Block {
            text: t.to_string(),
            kind: *k,
            page: Some(1),
            origin: Default::default(),
        })
        .collect();
    d.sections.push(s);
    d
}

fn opts(max: usize, overlap: usize) -> ChunkOptions {
    ChunkOptions {
        max_tokens: max,
        overlap_tokens: overlap,
        special_tokens: 0,
        max_context_tokens: 4,
        max_bytes_per_token: 1000,
    }
}

#[test]
fn small_blocks_pack_into_one_chunk() {
    let d = doc(&[
        ("one two", BlockKind::Paragraph),
        ("three", BlockKind::Paragraph),
    ]);
    let chunks = chunk_document("d", &d, &Words, &opts(20, 0));
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].text, "one two\n\nthree");
    assert_eq!(chunks[0].context, "Intro");
    assert_eq!(chunks[0].embedding_input(), "Intro\n\none two\n\nthree");
    assert_eq!(chunks[0].page_start, Some(1));
}

#[test]
fn no_chunk_exceeds_the_budget_and_sentences_overlap() {
    let sentence = |i: usize| format!("Sentence {i} has five words.");
    let text: Vec<String> = (0..40).map(sentence).collect();
    let d = doc(&[(&text.join(" "), BlockKind::Paragraph)]);
    // Budget: 31 - 1 (context "Intro") = 30 tokens, i.e. six 5-word sentences per chunk.
    let chunks = chunk_document("d", &d, &Words, &opts(31, 10));
    assert!(chunks.len() > 1);
    for c in &chunks {
        assert!(c.token_count <= 31, "{} tokens: {}", c.token_count, c.text);
    }
    // Two sentences (10 tokens) of each chunk open the next one.
    assert!(
        chunks[1].text.starts_with("Sentence 4 "),
        "{}",
        chunks[1].text
    );
    // Every sentence is in some chunk.
    for i in 0..40 {
        assert!(
            chunks.iter().any(|c| c.text.contains(&sentence(i))),
            "sentence {i} lost"
        );
    }
}

#[test]
fn overlong_words_and_code_are_split_to_fit() {
    let long_sentence = vec!["w"; 50].join(" ");
    let code = (0..30)
        .map(|i| format!("let x{i} = {i};"))
        .collect::<Vec<_>>()
        .join("\n");
    let d = doc(&[
        (&long_sentence, BlockKind::Paragraph),
        (&code, BlockKind::Code),
    ]);
    let chunks = chunk_document("d", &d, &Words, &opts(21, 0));
    for c in &chunks {
        assert!(c.token_count <= 21, "{} tokens", c.token_count);
    }
    let code_chunk = chunks
        .iter()
        .find(|c| c.text.contains("let x0 = 0;"))
        .unwrap();
    assert!(
        code_chunk.text.contains("let x0 = 0;\nlet x1 = 1;"),
        "code lines stay on their own lines"
    );
}

#[test]
fn a_huge_word_is_cut_by_bytes_even_when_it_counts_as_one_token() {
    // Like a WordPiece model's [UNK]: `Words` counts the whole 1 MB run as one token.
    let blob = "x".repeat(1_000_000);
    let text = format!("Some words first. {blob} and a tail.");
    let d = doc(&[
        (&text, BlockKind::Paragraph),
        ("Following block.", BlockKind::Paragraph),
    ]);
    let options = ChunkOptions {
        max_bytes_per_token: 16,
        ..opts(21, 0)
    };
    let chunks = chunk_document("d", &d, &Words, &options);
    // Budget 20 tokens (21 less the context "Intro"), so 320 bytes a chunk.
    for c in &chunks {
        assert!(c.text.len() <= 320, "{} bytes", c.text.len());
    }
    let xs: usize = chunks.iter().map(|c| c.text.matches('x').count()).sum();
    assert_eq!(xs, 1_000_000, "nothing of the run is lost or repeated");
    assert!(chunks[0].text.starts_with("Some words first."));
    assert!(chunks.iter().any(|c| c.text.contains("a tail.")));
    assert!(chunks.last().unwrap().text.ends_with("Following block."));
}

#[test]
fn multibyte_text_is_cut_on_character_boundaries() {
    let run = "é".repeat(5_000);
    let d = doc(&[(&run, BlockKind::Paragraph)]);
    let options = ChunkOptions {
        max_bytes_per_token: 3,
        ..opts(21, 0)
    };
    let chunks = chunk_document("d", &d, &Words, &options);
    assert!(chunks.len() > 1);
    let joined: String = chunks.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(joined, run);
}

#[test]
fn keys_are_stable_and_depend_on_content() {
    let d = doc(&[("alpha beta", BlockKind::Paragraph)]);
    let a = chunk_document("doc", &d, &Words, &opts(20, 0));
    let b = chunk_document("doc", &d, &Words, &opts(20, 0));
    assert_eq!(a[0].key, b[0].key);
    let d2 = doc(&[("alpha gamma", BlockKind::Paragraph)]);
    assert_ne!(
        a[0].key,
        chunk_document("doc", &d2, &Words, &opts(20, 0))[0].key
    );
    assert_ne!(
        a[0].key,
        chunk_document("other", &d, &Words, &opts(20, 0))[0].key
    );
}

#[test]
fn chunks_never_cross_sections() {
    let mut d = doc(&[("a b", BlockKind::Paragraph)]);
    let mut s2 = Section::untitled();
    s2.heading = Some("Next".into());
    s2.heading_path = vec!["Next".into()];
    s2.blocks.push(Block {
        text: "c d".into(),
        kind: BlockKind::Paragraph,
        page: None,
        origin: Default::default(),
    });
    d.sections.push(s2);
    let chunks = chunk_document("d", &d, &Words, &opts(50, 0));
    assert_eq!(chunks.len(), 2);
    assert_eq!((chunks[0].section, chunks[1].section), (0, 1));
    assert_eq!(chunks[1].ordinal, 1);
}

#[test]
fn sentence_splitting_respects_abbreviations_and_numbers() {
    let s: Vec<_> =
        sentences("Pi is 3.14 roughly. Use e.g. this one! \"Quoted.\" Next? yes").collect();
    assert_eq!(
        s,
        [
            "Pi is 3.14 roughly.",
            "Use e.g. this one!",
            "\"Quoted.\"",
            "Next? yes"
        ]
    );
}

#[test]
fn chunks_never_span_pages_and_empty_headings_add_nothing() {
    let mut d = ParsedDocument::new(Format::Pdf);
    let mut title = Section::untitled();
    title.heading = Some("Title only".into());
    d.sections.push(title);
    let mut s = Section::untitled();
    for (text, page) in [("a b", 1), ("c d", 1), ("e f", 2)] {
        s.blocks.push(Block {
            text: text.into(),
            kind: BlockKind::Paragraph,
            page: Some(page),
            origin: Default::default(),
        });
    }
    d.sections.push(s);
    let chunks = chunk_document("d", &d, &Words, &opts(50, 10));
    let got: Vec<_> = chunks
        .iter()
        .map(|c| (c.text.as_str(), c.page_start, c.page_end))
        .collect();
    assert_eq!(
        got,
        [("a b\n\nc d", Some(1), Some(1)), ("e f", Some(2), Some(2))]
    );
}

#[test]
fn a_long_section_is_cut_evenly_not_into_a_full_chunk_and_a_stub() {
    // 62 words in one sentence without a full stop, as Cranfield's lower-case abstracts read, after a
    // short title paragraph: greedy packing made a 30-token chunk, a title-only chunk and a stub.
    let title = "an approximate solution for boundary layers";
    let words: Vec<String> = (0..62).map(|i| format!("w{i}")).collect();
    let d = doc(&[
        (title, BlockKind::Paragraph),
        (&words.join(" "), BlockKind::Paragraph),
    ]);
    let chunks = chunk_document("d", &d, &Words, &opts(41, 8));
    let sizes: Vec<u32> = chunks.iter().map(|c| c.token_count).collect();
    assert!(sizes.iter().all(|&n| n <= 41), "{sizes:?}");
    // The title shares a chunk with the text it heads.
    assert!(chunks[0].text.starts_with(title), "{}", chunks[0].text);
    assert!(chunks[0].text.contains("w0 "), "{}", chunks[0].text);
    // No chunk is a stub: the smallest holds at least half of what the largest does.
    let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
    assert!(2 * min >= *max, "uneven chunks {sizes:?}");
    // Nothing is lost, and the long sentence's pieces overlap across the cut.
    for w in &words {
        assert!(
            chunks
                .iter()
                .any(|c| c.text.contains(&format!("{w} ")) || c.text.ends_with(w.as_str()))
        );
    }
    let first_end = chunks[0]
        .text
        .split_whitespace()
        .last()
        .unwrap()
        .to_string();
    assert!(
        chunks[1].text.contains(&first_end),
        "no overlap between {:?} and {:?}",
        chunks[0].text,
        chunks[1].text
    );
}

#[test]
fn chunks_of_one_long_paragraph_point_at_their_own_sentences() {
    let text = (0..60)
        .map(|i| format!("Sentence number {i} says something."))
        .collect::<Vec<_>>()
        .join(" ");
    let source = format!("Intro line.\n\n{text}\n");
    let mut d = ParsedDocument::new(Format::Text);
    let mut s = Section::untitled();
    s.blocks.push(Block {
        text: text.clone(),
        kind: BlockKind::Paragraph,
        page: None,
        origin: docvec_types::Origin::bytes(13, 13 + text.len()),
    });
    d.sections.push(s);
    d.text = Some(source.clone());
    let chunks = chunk_document("d", &d, &Words, &opts(40, 8));
    assert!(chunks.len() > 3, "{}", chunks.len());
    let mut last_start = 0;
    for c in &chunks {
        let (a, b) = (
            c.span.byte_start.unwrap() as usize,
            c.span.byte_end.unwrap() as usize,
        );
        assert_eq!(&source[a..b], c.text);
        assert_eq!((c.span.line_start, c.span.line_end), (Some(3), Some(3)));
        assert!(a > last_start || a == 13, "in order");
        last_start = a;
    }
}

#[test]
fn rendered_documents_get_a_stored_text_their_blocks_point_into() {
    let mut d = doc(&[
        ("First block.", BlockKind::Paragraph),
        ("Second.", BlockKind::Code),
    ]);
    crate::render_text(&mut d);
    let text = d.text.clone().unwrap();
    assert_eq!(text, "Intro\n\nFirst block.\n\nSecond.");
    let chunks = chunk_document("d", &d, &Words, &opts(100, 0));
    let span = &chunks[0].span;
    assert_eq!(
        &text[span.byte_start.unwrap() as usize..span.byte_end.unwrap() as usize],
        "First block.\n\nSecond."
    );
    assert_eq!((span.line_start, span.line_end), (Some(3), Some(5)));
}
