use super::*;

const PLACES: [&str; 5] = ["花园村", "东关街道", "城南社区", "李家湾", "新河镇"];
const MATTERS: [&str; 5] = [
    "路面破损坑洼，雨天积水，请求尽快维修",
    "赡养费分担问题子女之间互相推诿",
    "邻里宅基地边界纠纷，多次协商未果",
    "拖欠农民工工资三个月，要求支付",
    "小区噪音扰民，夜间施工影响休息",
];

const KINDS: [&str; 4] = ["accepted", "assigned", "concluded", "note_added"];

/// Event-like JSON: the same keys every time, values that vary.
fn event(i: u64) -> String {
    let n = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    serde_json::json!({
        "actor": format!("clerk-{}", n % 37),
        "at": format!("2026-{:02}-{:02}T0{}:{:02}:{:02}.000Z", 1 + n % 12, 1 + n % 28, n % 10, n % 60, (n >> 8) % 60),
        "case_id": format!("019aea65-{:04x}-7930-a84d-{:012x}", n % 65536, n >> 16),
        "note": format!("{}{}", PLACES[(n % 5) as usize], MATTERS[((n >> 3) % 5) as usize]),
        "people_involved": n % 90,
        "seq": i % 9,
        "type": KINDS[(n % 4) as usize],
    })
    .to_string()
}

fn trained_packer() -> (Packer, Dictionary, Vec<String>) {
    let packer = Packer::new(Vec::new()).unwrap();
    let rows: Vec<String> = (0..Corpus::Events.train_after(0).unwrap())
        .map(event)
        .collect();
    for r in &rows {
        // While there is no dictionary, a value is its JSON.
        assert_eq!(packer.pack(Corpus::Events, r, &[]), r.as_bytes());
    }
    let trained = packer.train_due();
    assert_eq!(trained.len(), 1, "only the events' corpus is due");
    assert_eq!(trained[0].dictionary.corpus, Corpus::Events);
    assert_eq!(trained[0].dictionary.generation, 0);
    packer.adopt(&trained[0]).unwrap();
    (packer, trained[0].dictionary.clone(), rows)
}

#[test]
fn packed_values_unpack_to_the_exact_json_and_are_smaller() {
    let (packer, _, _) = trained_packer();
    let fresh: Vec<String> = (10_000..11_000).map(event).collect();
    let (mut raw, mut packed) = (0, 0);
    for json in &fresh {
        let stored = packer.pack(Corpus::Events, json, &[]);
        assert!(stored.starts_with(&FRAME_MAGIC));
        assert_eq!(packer.unpack(&stored).unwrap(), *json);
        raw += json.len();
        packed += stored.len();
    }
    // Rows the dictionary was not trained on, as later rows will be.
    assert!(raw > 3 * packed, "{raw} bytes packed into {packed}");
}

#[test]
fn json_written_unpacked_is_read_as_it_is() {
    let (packer, _, _) = trained_packer();
    let json = r#"{"a":"写入时未压缩"}"#;
    assert_eq!(packer.unpack(json.as_bytes()).unwrap(), json);
}

#[test]
fn a_dictionary_is_used_only_once_adopted() {
    let packer = Packer::new(Vec::new()).unwrap();
    for i in 0..Corpus::Events.train_after(0).unwrap() {
        packer.pack(Corpus::Events, &event(i), &[]);
    }
    let trained = packer.train_due();
    let json = event(99_999);
    // Packed with the fresh dictionary inside the write that stores it...
    let inside = packer.pack(Corpus::Events, &json, &trained);
    assert!(inside.starts_with(&FRAME_MAGIC));
    // ...but not by a later write if that one did not commit.
    assert_eq!(packer.pack(Corpus::Events, &json, &[]), json.as_bytes());
    // And another process reading it loads the dictionary first.
    let reader = Packer::new(Vec::new()).unwrap();
    let id = trained[0].dictionary.id;
    assert!(matches!(reader.unpack(&inside), Err(UnpackError::Missing(m)) if m == id));
    reader.learn(&trained[0].dictionary).unwrap();
    assert_eq!(reader.unpack(&inside).unwrap(), json);
}

#[test]
fn a_reopened_store_packs_with_its_newest_dictionary() {
    let (packer, dictionary, _) = trained_packer();
    let json = event(12_345);
    let stored = packer.pack(Corpus::Events, &json, &[]);
    let reopened = Packer::new(vec![dictionary]).unwrap();
    assert_eq!(reopened.unpack(&stored).unwrap(), json);
    assert_eq!(reopened.pack(Corpus::Events, &json, &[]), stored);
}

#[test]
fn the_second_generation_is_trained_on_a_hundred_times_as_many_rows() {
    let (packer, _, _) = trained_packer();
    let first = Corpus::Events.train_after(0).unwrap();
    for i in 0..first * 100 - 1 {
        packer.pack(Corpus::Events, &event(i + 50_000), &[]);
    }
    assert!(packer.train_due().is_empty());
    packer.pack(Corpus::Events, &event(7), &[]);
    let second = packer.train_due();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].dictionary.generation, 1);
    assert_eq!(
        second[0].dictionary.samples as usize,
        Corpus::Events.sample_rows()
    );
    packer.adopt(&second[0]).unwrap();
    // None after that: the packer stops sampling.
    for i in 0..first * 200 {
        packer.pack(Corpus::Events, &event(i), &[]);
    }
    assert!(packer.train_due().is_empty());
}

#[test]
fn damaged_values_are_reported_not_trusted() {
    let (packer, _, rows) = trained_packer();
    let stored = packer.pack(Corpus::Events, &rows[0], &[]);
    // Truncated, and with a flipped byte in the compressed data.
    let truncated = &stored[..stored.len() - 3];
    assert!(matches!(
        packer.unpack(truncated),
        Err(UnpackError::Corrupt(_))
    ));
    let mut flipped = stored.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x55;
    match packer.unpack(&flipped) {
        Err(UnpackError::Corrupt(_)) => {}
        // zstd checks no checksum by default: a flip in a literal can
        // decode to other bytes, which the chain's hash then catches.
        Ok(other) => assert_ne!(other, rows[0]),
        Err(e) => panic!("{e}"),
    }
    assert!(matches!(
        packer.unpack(&[0xff, 0xfe, 0x00]),
        Err(UnpackError::Corrupt(_))
    ));
    // A frame header claiming a gigabyte is refused before allocating it.
    let mut huge = zstd::bulk::compress(b"x", 1).unwrap();
    huge.truncate(4);
    huge.extend_from_slice(&[0xE0, 0, 0, 0, 0, 0x40, 0, 0, 0]);
    assert!(matches!(packer.unpack(&huge), Err(UnpackError::Corrupt(_))));
}
