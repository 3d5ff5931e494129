//! What `docvec eval` scores: a search mode with its hybrid options. `--sweep` scores hybrid search
//! over a grid of fusion settings, so a default is chosen on development collections by measurement
//! (and never on the held-out one).

use docvec_engine::{Fusion, HybridOptions, SearchMode};

/// One way of searching.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Setting {
    pub(crate) mode: SearchMode,
    pub(crate) hybrid: HybridOptions,
}

impl Setting {
    pub(crate) fn new(mode: SearchMode, hybrid: HybridOptions) -> Self {
        Setting { mode, hybrid }
    }

    /// The mode's name, and for hybrid search its fusion.
    pub(crate) fn label(&self) -> String {
        if self.mode != SearchMode::Hybrid {
            return format!("{:?}", self.mode).to_lowercase();
        }
        match self.hybrid.fusion {
            Fusion::Rrf { k } => format!("hybrid rrf k={k}"),
            Fusion::Weighted { vector_weight } => format!("hybrid minmax w={vector_weight}"),
            Fusion::Zscore { vector_weight } => format!("hybrid zscore w={vector_weight}"),
        }
    }
}

/// RRF constants and vector weights the sweep tries.
const RRF_KS: [f32; 6] = [5.0, 10.0, 20.0, 40.0, 60.0, 100.0];
const WEIGHTS: [f32; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// The sweep: vector and keyword alone (the two ends), then hybrid with each RRF constant and each
/// vector weight under min-max and z-score fusion, at the default candidate depth.
pub(crate) fn sweep() -> Vec<Setting> {
    let hybrid = |fusion| {
        Setting::new(
            SearchMode::Hybrid,
            HybridOptions {
                fusion,
                candidates: 0,
            },
        )
    };
    let mut grid = vec![
        Setting::new(SearchMode::Vector, HybridOptions::default()),
        Setting::new(SearchMode::Keyword, HybridOptions::default()),
    ];
    grid.extend(RRF_KS.map(|k| hybrid(Fusion::Rrf { k })));
    grid.extend(WEIGHTS.map(|w| hybrid(Fusion::Weighted { vector_weight: w })));
    grid.extend(WEIGHTS.map(|w| hybrid(Fusion::Zscore { vector_weight: w })));
    grid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_covers_every_fusion_and_labels_each_setting_apart() {
        let grid = sweep();
        assert_eq!(grid.len(), 2 + RRF_KS.len() + 2 * WEIGHTS.len());
        let labels: std::collections::HashSet<String> = grid.iter().map(Setting::label).collect();
        assert_eq!(labels.len(), grid.len(), "{labels:?}");
        assert!(labels.contains("hybrid zscore w=0.3"), "{labels:?}");
        assert!(labels.contains("keyword"), "{labels:?}");
        // The default is on the grid, so a sweep shows what any change would gain over it.
        let default = Setting::new(SearchMode::Hybrid, HybridOptions::default());
        assert!(grid.contains(&default));
        assert_eq!(default.label(), "hybrid zscore w=0.6");
    }
}
