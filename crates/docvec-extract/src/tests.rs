use std::path::Path;

use docvec_types::{FactKind, Format, SpanScope, TagKind};

use super::*;

fn parse(name: &str, bytes: &[u8]) -> ParsedDocument {
    docvec_parse::parse_bytes(Path::new(name), bytes, &Default::default())
        .expect("parses")
        .1
}

/// The characters a fact's span covers in `text`.
fn span(text: &str, f: &Fact) -> String {
    let (s, e) = (f.evidence.char_start.unwrap(), f.evidence.char_end.unwrap());
    text.chars()
        .skip(s as usize)
        .take((e - s) as usize)
        .collect()
}

#[test]
fn numbers_with_units_and_not_dates() {
    assert_eq!(parse_number("1,234.5"), Some((1234.5, None)));
    assert_eq!(parse_number("$12"), Some((12.0, Some("$".into()))));
    assert_eq!(parse_number("45 %"), Some((45.0, Some("%".into()))));
    assert_eq!(parse_number("3.2 GB"), Some((3.2, Some("GB".into()))));
    assert_eq!(parse_number("-7"), Some((-7.0, None)));
    assert_eq!(
        parse_number("2 billion users"),
        Some((2e9, Some("users".into())))
    );
    for not in ["2024-03-01", "12:30", "1.2.3", "v2", "about 5", "5/19/2006"] {
        assert_eq!(parse_number(not), None, "{not}");
    }
}

#[test]
fn label_lines_of_a_text_file_point_at_their_line_and_span() {
    let text = "Quarterly report\n\nRevenue: $4.2 million\n  Head count: 1,250 people\nThis sentence: has a colon but goes on far too long to be any kind of label value statement at all really.\nSee http://example.com: nothing\n";
    let doc = parse("r.txt", text.as_bytes());
    let (facts, truncated) = extract_facts(&doc, Some(text), 100);
    assert!(!truncated);
    assert_eq!(facts.len(), 2, "{facts:#?}");
    let revenue = &facts[0];
    assert_eq!(
        (revenue.key.as_str(), revenue.value.as_str()),
        ("Revenue", "$4.2 million")
    );
    assert_eq!(
        (revenue.number, revenue.unit.as_deref()),
        (Some(4_200_000.0), Some("$"))
    );
    assert_eq!(revenue.kind, FactKind::LabelValue);
    assert_eq!(revenue.evidence.line, Some(3));
    assert_eq!(revenue.evidence.scope, Some(SpanScope::File));
    assert_eq!(span(text, revenue), "Revenue: $4.2 million");
    let heads = &facts[1];
    assert_eq!(
        (heads.number, heads.unit.as_deref()),
        (Some(1250.0), Some("people"))
    );
    assert_eq!(heads.evidence.line, Some(4));
    assert_eq!(span(text, heads), "Head count: 1,250 people");
}

#[test]
fn markdown_skips_code_and_reads_bold_labels() {
    let text =
        "# Spec\n\n**Max file size**: 256 MB\n\n```\nFormat: 30\n```\n\n- Default port: 8080\n";
    let doc = parse("s.md", text.as_bytes());
    let (facts, _) = extract_facts(&doc, Some(text), 100);
    let keys: Vec<&str> = facts.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["Max file size", "Default port"]);
    assert_eq!(facts[0].number, Some(256.0));
    assert_eq!(facts[1].evidence.line, Some(9));
    assert_eq!(span(text, &facts[1]), "- Default port: 8080");
}

#[test]
fn html_facts_count_in_their_section() {
    let html = "<html><body><nav>Home: index</nav><h1>Plan</h1><p>Price: 10 EUR</p><p>Seats: 4</p></body></html>";
    let doc = parse("p.html", html.as_bytes());
    let (facts, _) = extract_facts(&doc, None, 100);
    let price = facts.iter().find(|f| f.key == "Price").expect("price fact");
    assert_eq!(price.evidence.scope, Some(SpanScope::Section));
    let section = price.evidence.section.unwrap() as usize;
    let text: String = doc.sections[section]
        .blocks
        .iter()
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(span(&text, price), "Price: 10 EUR");
    assert!(
        facts.iter().all(|f| f.key != "Home"),
        "navigation is not content"
    );
}

#[test]
fn table_cells_carry_row_and_column() {
    let csv = "Title line\nState,Code,Population,Share\nAlabama,01,\"4,903,185\",1.5\n\nAlaska,02,731545,0.2\n";
    let doc = parse("t.csv", csv.as_bytes());
    let (facts, _) = extract_facts(&doc, None, 100);
    // Code is a text column ("01"): only Population and Share are numeric facts.
    assert_eq!(facts.len(), 4, "{facts:#?}");
    let f = &facts[0];
    assert_eq!(f.kind, FactKind::TableCell);
    assert_eq!(
        (f.key.as_str(), f.subject.as_deref()),
        ("Population", Some("Alabama"))
    );
    assert_eq!(f.number, Some(4_903_185.0));
    assert_eq!((f.evidence.row, f.evidence.column), (Some(3), Some(3)));
    assert_eq!(f.evidence.snippet, "Alabama | Population: 4,903,185");
    // The blank line is skipped: Alaska's record stands on line 5.
    assert_eq!(facts[2].evidence.row, Some(5));
    assert_eq!(facts[3].value, "0.2");
}

#[test]
fn the_fact_limit_holds() {
    let mut csv = String::from("name,a,b\n");
    for i in 0..100 {
        csv.push_str(&format!("row{i},{i},{}\n", i * 2));
    }
    let doc = parse("t.csv", csv.as_bytes());
    let (facts, truncated) = extract_facts(&doc, None, 50);
    assert_eq!(facts.len(), 50);
    assert!(truncated);
    let out = extract(
        &doc,
        &[],
        None,
        &[],
        &ExtractOptions {
            max_facts_per_document: 50,
            ..Default::default()
        },
    );
    assert_eq!(out.warnings.len(), 1);
}

#[test]
fn document_tags_are_format_user_then_keyphrases() {
    let text = "Kubernetes schedules pods onto nodes. The Kubernetes scheduler weighs node resources \
                when it places pods, and pods that cannot be placed stay pending.";
    let doc = parse("k.txt", text.as_bytes());
    let out = extract(
        &doc,
        &[],
        Some(text),
        &["Ops ".into(), "ops".into(), "".into()],
        &ExtractOptions::default(),
    );
    assert_eq!(out.document_tags[0].name, "text");
    assert_eq!(out.document_tags[0].kind, TagKind::Format);
    assert_eq!(out.document_tags[1].name, "ops");
    assert_eq!(out.document_tags[1].kind, TagKind::User);
    assert_eq!(
        out.document_tags
            .iter()
            .filter(|t| t.kind == TagKind::User)
            .count(),
        1
    );
    let phrases: Vec<&str> = out
        .document_tags
        .iter()
        .filter(|t| t.kind == TagKind::Keyphrase)
        .map(|t| t.name.as_str())
        .collect();
    assert!(
        phrases.iter().any(|p| p.contains("kubernetes")),
        "{phrases:?}"
    );
}

#[test]
fn corpus_tables_give_facts_about_their_rows() {
    let Some(corpus) = docvec_testkit::corpus(&["tables"]) else {
        return;
    };
    let bytes =
        std::fs::read(corpus.join("tables/csvkit-FY09_EDU_Recipients_by_State.csv")).unwrap();
    let doc = parse("FY09.csv", &bytes);
    let (facts, _) = extract_facts(&doc, None, 100_000);
    let alabama_total = facts
        .iter()
        .find(|f| f.subject.as_deref() == Some("ALABAMA") && f.key == "TOTAL")
        .expect("Alabama's total");
    assert_eq!(alabama_total.number, Some(12_426.0));
    assert_eq!(
        (alabama_total.evidence.row, alabama_total.evidence.column),
        (Some(2), Some(9))
    );
    assert_eq!(doc.format, Format::Csv);
}
