//! Hotspots on the 4,326 real citizen messages
//! (`../shared/data/tipdm-messages.jsonl`, read in place, never copied into
//! the repository), their whole time span as the window: the many letters
//! about one concrete mixing plant's noise and dust (搅拌站) must come out
//! as one hotspot named by it. Run with `--nocapture` for the figures.

use jiefen_text::hotspots::{hotspots, Hotspot, HotspotInput, HotspotParams};
use jiefen_text::Segmenter;
use std::time::Instant;

mod common;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// "2019/2/28 11:25:05" or "2017-06-08 17:31:20" as milliseconds, the
/// clock time taken as UTC (only order and distance matter here).
fn parse_time(s: &str) -> i64 {
    let nums: Vec<i64> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().expect("a number"))
        .collect();
    assert!(nums.len() >= 3, "time {s:?}");
    let at = |i: usize| nums.get(i).copied().unwrap_or(0);
    let days = days_from_civil(at(0), at(1), at(2));
    ((days * 24 + at(3)) * 60 + at(4)) * 60_000 + at(5) * 1000
}

/// The first district token of the text, "A3区" or "A7县", as the place;
/// "A市" when there is none.
fn district(title: &str, detail: &str) -> String {
    for text in [title, detail] {
        let chars: Vec<char> = text.chars().collect();
        for i in 0..chars.len() {
            if chars[i] != 'A' {
                continue;
            }
            let digits = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            if let Some(&k) = chars.get(i + 1 + digits) {
                if digits > 0 && matches!(k, '区' | '县' | '市') {
                    return chars[i..=i + 1 + digits].iter().collect();
                }
            }
        }
    }
    "A市".into()
}

fn messages() -> Vec<HotspotInput> {
    let raw = common::shared_data("tipdm-messages.jsonl");
    raw.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            HotspotInput {
                id: v["id"].to_string(),
                place: district(&s("title"), &s("detail")),
                at_ms: parse_time(&s("time")),
                title: s("title"),
                text: s("detail"),
            }
        })
        .collect()
}

fn mentions(m: &HotspotInput, word: &str) -> bool {
    m.title.contains(word) || m.text.contains(word)
}

fn show(found: &[Hotspot], n: usize) {
    for h in found.iter().take(n) {
        let terms: Vec<String> = h
            .top_terms
            .iter()
            .map(|(t, w)| format!("{t} {w:.2}"))
            .collect();
        eprintln!(
            "  {} [{}] {} cases, trend {:?}, before {}: {}",
            h.place,
            h.label,
            h.count,
            h.trend,
            h.previous_count,
            terms.join(", ")
        );
    }
}

#[test]
fn the_mixing_plant_is_a_hotspot() {
    let all = messages();
    assert_eq!(all.len(), 4326);
    let seg = Segmenter::new();
    let from = all.iter().map(|m| m.at_ms).min().unwrap();
    let to = all.iter().map(|m| m.at_ms).max().unwrap() + 1;
    let plant_letters = all.iter().filter(|m| mentions(m, "搅拌站")).count();

    // One place: the whole city.
    let one_place: Vec<HotspotInput> = all
        .iter()
        .cloned()
        .map(|mut m| {
            m.place = "A市".into();
            m
        })
        .collect();
    let params = HotspotParams {
        buckets: 8,
        ..HotspotParams::default()
    };
    let start = Instant::now();
    let found = hotspots(&seg, &one_place, from, to, &params);
    let took = start.elapsed();
    let in_hotspots: usize = found.iter().map(|h| h.count).sum();
    eprintln!(
        "one place: {} messages, {} hotspots holding {in_hotspots} messages, in {took:?}",
        all.len(),
        found.len()
    );
    show(&found, 15);
    let plant = found
        .iter()
        .find(|h| h.top_terms.iter().take(3).any(|(t, _)| t == "搅拌站"))
        .expect("a hotspot with 搅拌站 among its top three terms");
    let by_id: std::collections::HashMap<&str, &HotspotInput> =
        all.iter().map(|m| (m.id.as_str(), m)).collect();
    let about_plants = plant
        .case_ids
        .iter()
        .filter(|id| {
            mentions(by_id[id.as_str()], "搅拌站") || mentions(by_id[id.as_str()], "搅拌厂")
        })
        .count();
    eprintln!(
        "搅拌站 hotspot: {} cases ({about_plants} name a mixing plant; {plant_letters} of all \
         messages mention 搅拌站), label {:?}, trend {:?}",
        plant.count, plant.label, plant.trend
    );
    let others: Vec<&String> = plant
        .case_ids
        .iter()
        .filter(|id| !mentions(by_id[id.as_str()], "搅拌"))
        .collect();
    eprintln!("in it without a mixing plant: {others:?}");
    assert!(plant.label.contains("搅拌站"), "{:?}", plant.label);
    assert!(plant.count >= 30, "{}", plant.count);
    assert!(
        about_plants * 100 >= plant.count * 95,
        "{about_plants}/{}",
        plant.count
    );
    assert_eq!(plant.trend.iter().sum::<u32>() as usize, plant.count);

    // Places from the letters' own district tokens.
    let found = hotspots(&seg, &all, from, to, &params);
    eprintln!("by district: {} hotspots", found.len());
    show(&found, 10);
    let plant = found
        .iter()
        .find(|h| h.place == "A2区" && h.top_terms.iter().take(5).any(|(t, _)| t == "搅拌站"))
        .expect("a 搅拌站 hotspot in A2区");
    eprintln!("搅拌站 hotspot in A2区: {} cases", plant.count);
    assert!(plant.count >= 15, "{}", plant.count);
}

/// 100,000 cases in one place and one window: the 4,326 messages 23 times
/// over, each copy a day later. Slow in a debug build; run with
/// `cargo nextest run --release -p jiefen-text --run-ignored all -E 'test(hundred)'`.
#[test]
#[ignore]
fn a_hundred_thousand_cases_stay_fast() {
    let all = messages();
    let seg = Segmenter::new();
    let day = 86_400_000;
    let many: Vec<HotspotInput> = (0..23)
        .flat_map(|k| {
            all.iter().map(move |m| HotspotInput {
                id: format!("{k}-{}", m.id),
                place: "A市".into(),
                at_ms: m.at_ms + k * day,
                title: m.title.clone(),
                text: m.text.clone(),
            })
        })
        .take(100_000)
        .collect();
    let from = many.iter().map(|m| m.at_ms).min().unwrap();
    let to = many.iter().map(|m| m.at_ms).max().unwrap() + 1;
    let start = Instant::now();
    let found = hotspots(&seg, &many, from, to, &HotspotParams::default());
    let took = start.elapsed();
    eprintln!(
        "{} cases: {} hotspots, largest {}, in {took:?}",
        many.len(),
        found.len(),
        found.first().map_or(0, |h| h.count)
    );
    assert!(took.as_secs() < 120, "{took:?}");
}
