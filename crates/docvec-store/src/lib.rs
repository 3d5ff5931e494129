//! docvec-store
