//! docvec-embed
