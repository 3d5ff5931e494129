use hnsw_rs::prelude::Distance;

/// `1 - dot(a, b)`: cosine distance for unit-length vectors, which is all docvec stores.
///
/// anndists' `DistDot` asserts the result is non-negative, which rounding breaks for two identical unit
/// vectors (dot = 1.0000001), so duplicate chunks would panic the search; this clamps instead.
#[derive(Debug, Default, Clone, Copy)]
pub struct UnitDot;

impl Distance<f32> for UnitDot {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (1.0 - dot(a, b)).max(0.0)
    }
}

/// Eight independent accumulators so the compiler vectorises the loop.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8;
    for i in 0..chunks {
        for j in 0..8 {
            acc[j] += a[i * 8 + j] * b[i * 8 + j];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks * 8..a.len().min(b.len()) {
        sum += a[i] * b[i];
    }
    sum
}
