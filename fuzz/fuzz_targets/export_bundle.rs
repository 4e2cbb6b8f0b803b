//! A case export given to `jiefen verify`: read and verified offline. A
//! bundle made up by anyone must be refused with a reason, never crash or
//! hang the verifier.
#![no_main]

use jiefen_ledger::bundle::{verify_bundle, CaseBundle, VerifyOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = serde_json::from_slice::<CaseBundle>(data) {
        let opts = VerifyOptions {
            pinned_key: None,
            earlier_checkpoint: None,
        };
        let _ = verify_bundle(&bundle, &opts);
    }
});
