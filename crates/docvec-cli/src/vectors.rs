//! Query vectors from a file, for `docvec search --vector FILE`: a JSON array of numbers (one query), a
//! JSON array of such arrays (several), or `.fvecs` (the ANN benchmarks' format: per vector a
//! little-endian i32 dimension, then that many f32). `-` reads JSON from standard input.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};

use crate::request::RequestError;

/// Most vectors one file may hold: each is one search.
const MAX_QUERIES: usize = 100_000;

pub fn read(path: &Path) -> anyhow::Result<Vec<Vec<f32>>> {
    let named = || format!("--vector {}", path.display());
    let bytes = if path == Path::new("-") {
        let mut b = Vec::new();
        std::io::stdin().read_to_end(&mut b).with_context(named)?;
        b
    } else {
        std::fs::read(path).with_context(named)?
    };
    let fvecs = path.extension().is_some_and(|e| e == "fvecs");
    let vectors = if fvecs {
        parse_fvecs(&bytes)
    } else {
        parse_json(&bytes)
    }
    .with_context(named)?;
    if vectors.is_empty() {
        bail!("{}: holds no vector", named());
    }
    if vectors.len() > MAX_QUERIES {
        bail!(
            "{}: {} vectors, at most {MAX_QUERIES} per run",
            named(),
            vectors.len()
        );
    }
    Ok(vectors)
}

fn parse_json(bytes: &[u8]) -> anyhow::Result<Vec<Vec<f32>>> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).context("not JSON (expected [0.1, ...] or [[...], ...])")?;
    let serde_json::Value::Array(items) = value else {
        bail!("expected a JSON array of numbers, or an array of such arrays");
    };
    if items.iter().all(|v| v.is_number()) {
        return Ok(vec![numbers(&items, 0)?]);
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            serde_json::Value::Array(row) => numbers(row, i),
            _ => bail!("item {i} is not an array of numbers"),
        })
        .collect()
}

fn numbers(row: &[serde_json::Value], i: usize) -> anyhow::Result<Vec<f32>> {
    row.iter()
        .enumerate()
        .map(|(j, x)| {
            x.as_f64()
                .map(|f| f as f32)
                .with_context(|| format!("vector {i}, component {j} is not a number"))
        })
        .collect()
}

fn parse_fvecs(bytes: &[u8]) -> anyhow::Result<Vec<Vec<f32>>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let Some(head) = bytes.get(at..at + 4) else {
            bail!("truncated at byte {at}: a vector's dimension needs 4 bytes");
        };
        let dim = i32::from_le_bytes(head.try_into().expect("4 bytes"));
        if !(1..=65_536).contains(&dim) {
            bail!("vector {} at byte {at} declares dimension {dim}", out.len());
        }
        let end = at + 4 + 4 * dim as usize;
        let Some(body) = bytes.get(at + 4..end) else {
            bail!(
                "truncated: vector {} needs {dim} floats after byte {at}",
                out.len()
            );
        };
        out.push(
            body.chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect(),
        );
        at = end;
    }
    Ok(out)
}

/// Every query vector must have the index's dimension; the first that does not is named.
pub fn check_dimensions(
    vectors: &[Vec<f32>],
    engine: &docvec_engine::Engine,
) -> anyhow::Result<()> {
    let dim = engine.dimension();
    if let Some((i, v)) = vectors.iter().enumerate().find(|(_, v)| v.len() != dim) {
        return Err(RequestError(format!(
            "--vector: vector {i} has {} dimensions, but this index holds {dim}-dimensional vectors \
             (model `{}`)",
            v.len(),
            engine.model_id()
        ))
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_one_or_many_and_fvecs() {
        assert_eq!(parse_json(b"[1, 2.5]").unwrap(), vec![vec![1.0, 2.5]]);
        assert_eq!(
            parse_json(b"[[1, 2], [3, 4]]").unwrap(),
            vec![vec![1.0, 2.0], vec![3.0, 4.0]]
        );
        let err = parse_json(b"[[1, \"x\"]]").unwrap_err().to_string();
        assert!(err.contains("vector 0, component 1"), "{err}");
        assert!(parse_json(b"{\"a\": 1}").is_err());
        let mut f = Vec::new();
        for v in [[1.0f32, 2.0], [3.0, 4.0]] {
            f.extend(2i32.to_le_bytes());
            v.iter().for_each(|x| f.extend(x.to_le_bytes()));
        }
        assert_eq!(
            parse_fvecs(&f).unwrap(),
            vec![vec![1.0, 2.0], vec![3.0, 4.0]]
        );
        let err = parse_fvecs(&f[..f.len() - 1]).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
    }
}
