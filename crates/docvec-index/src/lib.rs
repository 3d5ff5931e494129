//! docvec-index
