//! docvec-engine
