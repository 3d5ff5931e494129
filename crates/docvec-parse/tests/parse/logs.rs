//! Every line of the loghub logs against loghub's structured ground truth.

use docvec_parse::{ParseOptions, parse_file};
use docvec_types::LogEntry;

/// Which parsed field each ground-truth column is compared with.
#[derive(Clone, Copy)]
enum Field {
    Level,
    Component,
    Host,
}

fn field(e: &LogEntry, f: Field) -> String {
    match f {
        Field::Level => e.level.clone(),
        Field::Component => e.component.clone(),
        Field::Host => e.host.clone(),
    }
    .unwrap_or_default()
}

fn canonical(level: &str) -> String {
    // The parser's canonical names, for ground-truth levels as written (`notice`, `E`, `WARN`).
    match level.trim().to_ascii_uppercase().as_str() {
        "V" | "VERBOSE" | "TRACE" => "TRACE".into(),
        "D" | "DEBUG" => "DEBUG".into(),
        "I" | "INFO" => "INFO".into(),
        "W" | "WARN" | "WARNING" => "WARN".into(),
        "E" | "ERROR" => "ERROR".into(),
        "F" | "A" | "FATAL" => "FATAL".into(),
        other => other.to_string(),
    }
}

/// Parse `<system>_2k.log` and compare every entry with `<system>_2k.log_structured.csv`.
fn check(system: &str, columns: &[(&str, Field)]) {
    let Some(corpus) = docvec_testkit::corpus(&["logs"]) else {
        return;
    };
    let dir = corpus.join("logs").join(system);
    let (_, doc) = parse_file(
        &dir.join(format!("{system}_2k.log")),
        &ParseOptions::default(),
    )
    .unwrap();
    let mut truth =
        csv::Reader::from_path(dir.join(format!("{system}_2k.log_structured.csv"))).unwrap();
    let headers = truth.headers().unwrap().clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{system}: no column {name}"))
    };
    let rows: Vec<csv::StringRecord> = truth.records().map(Result::unwrap).collect();
    assert_eq!(doc.log_entries.len(), rows.len(), "{system}: entry count");
    let mut mismatches = Vec::new();
    for (entry, row) in doc.log_entries.iter().zip(&rows) {
        let line: u32 = row[col("LineId")].parse().unwrap();
        assert_eq!(
            entry.line, line,
            "{system}: entries out of step with the ground truth"
        );
        if entry.message.trim() != row[col("Content")].trim() {
            mismatches.push(format!(
                "line {line} content: {:?} != {:?}",
                entry.message,
                &row[col("Content")]
            ));
        }
        for (name, f) in columns {
            let (got, want) = (field(entry, *f), &row[col(name)]);
            let same = match f {
                Field::Level => canonical(&got) == canonical(want),
                _ => got.trim() == want.trim(),
            };
            if !same {
                mismatches.push(format!("line {line} {name}: {got:?} != {want:?}"));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{system}: {} mismatches, first: {:#?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(5)]
    );
}

#[test]
fn hdfs_matches_loghub() {
    check(
        "HDFS",
        &[("Level", Field::Level), ("Component", Field::Component)],
    );
}

#[test]
fn openssh_matches_loghub() {
    // loghub's OpenSSH format puts the host (LabSZ) in its Component column.
    check("OpenSSH", &[("Component", Field::Host)]);
}

#[test]
fn apache_matches_loghub() {
    check("Apache", &[("Level", Field::Level)]);
}

#[test]
fn zookeeper_matches_loghub() {
    check(
        "Zookeeper",
        &[("Level", Field::Level), ("Component", Field::Component)],
    );
}

#[test]
fn spark_matches_loghub() {
    check(
        "Spark",
        &[("Level", Field::Level), ("Component", Field::Component)],
    );
}

#[test]
fn android_matches_loghub() {
    check(
        "Android",
        &[("Level", Field::Level), ("Component", Field::Component)],
    );
}

#[test]
fn linux_matches_loghub() {
    // loghub's Linux format puts the host (combo) in its Level column.
    check(
        "Linux",
        &[("Level", Field::Host), ("Component", Field::Component)],
    );
}

#[test]
fn healthapp_matches_loghub() {
    check("HealthApp", &[("Component", Field::Component)]);
}
