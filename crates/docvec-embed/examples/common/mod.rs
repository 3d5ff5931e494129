//! What the embedding examples share: reading texts and counting a BERT encoder's FLOPs.

use std::io::BufRead;

/// The `text` of each JSON line of `path` (as `benches/embed/texts.py` writes them).
pub fn read_texts(path: &str) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    std::io::BufReader::new(file)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(&l.unwrap()).unwrap();
            v["text"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Hidden size, layers and feed-forward size from a model's `config.json`.
pub fn model_shape(config: &std::path::Path) -> (f64, f64, f64) {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(config).expect("config.json")).unwrap();
    let n = |k: &str| {
        v[k].as_f64()
            .unwrap_or_else(|| panic!("config.json lacks {k}"))
    };
    (
        n("hidden_size"),
        n("num_hidden_layers"),
        n("intermediate_size"),
    )
}

/// Multiply-adds of a BERT encoder on one sequence of `l` tokens, counted as 2 FLOPs each: per layer
/// the Q, K, V and output projections (4 l d^2), the feed-forward pair (2 l d f), and attention's
/// scores and weighted sum (2 l^2 d).
pub fn encoder_flops(l: f64, d: f64, layers: f64, f: f64) -> f64 {
    2.0 * layers * (4.0 * l * d * d + 2.0 * l * d * f + 2.0 * l * l * d)
}
