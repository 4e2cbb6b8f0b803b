//! Chinese text, understood offline: segmentation with a domain dictionary
//! ([`segment`]); category suggestions from a curated lexicon ([`lexicon`])
//! or a trained model ([`classify`]), behind one [`Suggester`]. Repeats by
//! text, search and hotspots build on it (issue 5). Pure: no I/O, no
//! network, nothing downloaded.
#![forbid(unsafe_code)]

pub mod classify;
pub mod hotspots;
pub mod lexicon;
pub mod repeats;
pub mod segment;
pub mod suggest;

pub use lexicon::Lexicon;
pub use segment::Segmenter;
pub use suggest::{Suggester, Suggestion};
