//! Reference files people bring: jurisdictions and bodies (`jiefen
//! jurisdictions import`, TOML or CSV, then built into the tree), a
//! taxonomy, and a working-day calendar (`serve --calendar`).
#![no_main]

use jiefen_domain::calendar::WorkCalendar;
use jiefen_domain::jurisdiction::{import, JurisdictionTree};
use jiefen_domain::taxonomy::Taxonomy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((nodes, _bodies)) = import::from_toml(src) {
        let _ = JurisdictionTree::build([], nodes);
    }
    if let Ok(nodes) = import::from_csv(src) {
        let _ = JurisdictionTree::build([], nodes);
    }
    let _ = Taxonomy::from_toml(src);
    let _ = WorkCalendar::with_file(src);
});
