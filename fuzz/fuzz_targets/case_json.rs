//! The API's case JSON: a registration and a command, read the way the API
//! reads them (serde with the failing field's path, nothing after the
//! value). Whatever is accepted must write back as JSON that reads again as
//! the same value: what the ledger hashes is what was given.
#![no_main]

use jiefen_domain::lifecycle::{Command, NewCase};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateCaseRequest {
    case: NewCase,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionRequest {
    action: Command,
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(value)
}

fn round_trips<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
    if let Some(value) = decode::<T>(bytes) {
        let again = serde_json::to_vec(&value).expect("an accepted value writes");
        let back: T = decode(&again).expect("what was written reads again");
        assert_eq!(back, value);
    }
}

fuzz_target!(|data: &[u8]| {
    round_trips::<CreateCaseRequest>(data);
    round_trips::<ActionRequest>(data);
});
