//! `jiefen import`'s reader, as the CLI has it: JSON lines and CSV with a
//! header row. Every record it returns names a line of the file.
#![no_main]

#[path = "../../crates/cli/src/records.rs"]
#[allow(dead_code)]
mod records;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.lines().count().max(1);
    for record in records::json_lines(text) {
        let line = match &record {
            Ok(r) => r.line,
            Err(e) => e.line,
        };
        assert!((1..=lines).contains(&line), "line {line} of {lines}");
    }
    if let Ok(rows) = records::csv_records(text) {
        for row in rows.into_iter().flatten() {
            let _ = row.get("title");
        }
    }
});
