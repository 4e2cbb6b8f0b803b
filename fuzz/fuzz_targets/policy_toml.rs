//! A policy file (`serve --policy`, `POST /api/v1/policy/check`): refused
//! with a reason or accepted, never a panic or a hang.
#![no_main]

use jiefen_domain::policy::Policy;
use jiefen_domain::taxonomy::Taxonomy;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static TAXONOMY: OnceLock<Taxonomy> = OnceLock::new();
    let taxonomy = TAXONOMY.get_or_init(Taxonomy::default_taxonomy);
    if let Ok(src) = std::str::from_utf8(data) {
        let _ = Policy::from_toml(src, taxonomy);
    }
});
