//! The search box's language: every text parses or is refused with a
//! reason; what parses is bounded by what was typed.
#![no_main]

// The parser as jiefen-search has it: included as it is, so this target
// does not build the index and everything behind it.
#[path = "../../crates/search/src/query.rs"]
#[allow(dead_code)]
mod query;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(q) = std::str::from_utf8(data) {
        let _ = query::parse(q);
    }
});
