//! Parsers against real files from `../shared/corpus` (skipped with a message when the corpus is
//! absent, a failure under CI): logs against loghub's structured ground truth, PDFs against
//! pdftotext.

mod logs;
mod pdf;
