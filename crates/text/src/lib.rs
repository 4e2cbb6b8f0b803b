//! Chinese text, understood offline: segmentation with a domain dictionary
//! ([`segment`]). Classification, repeats by text, search and hotspots
//! build on it (issue 5). Pure: no I/O, no network, nothing downloaded.
#![forbid(unsafe_code)]

pub mod classify;
pub mod segment;

pub use segment::Segmenter;
