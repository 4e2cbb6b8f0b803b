//! What the tests on real data share.
#![allow(dead_code)]

use std::path::Path;

/// A file of `../shared/data` (beside the repository), read in place: the
/// real messages are never copied into the repository. Missing, the test
/// fails: its figures are what the issue is judged on.
pub fn shared_data(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. This test reads the real messages in place from shared/data beside \
             the repository.",
            path.display()
        )
    })
}
