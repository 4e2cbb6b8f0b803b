//! Records from files people bring: JSON lines or CSV with a header row,
//! each record a set of named text fields with the line it came from, so
//! every complaint about a record can name its line.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct Record {
    /// 1-based line in the file where the record starts.
    pub line: usize,
    fields: BTreeMap<String, String>,
}

impl Record {
    /// A field's text, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The first of these fields that is present.
    pub fn first(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.get(n))
    }
}

/// A record that could not be read at all (bad JSON, a CSV row with the
/// wrong number of cells).
#[derive(Debug, Clone)]
pub struct Unreadable {
    pub line: usize,
    pub message: String,
}

/// Reads `.jsonl` (`.ndjson`, `.json` with one object per line) or `.csv`.
/// The file as a whole must be readable; single records may not be.
pub fn read(path: &Path) -> Result<Vec<Result<Record, Unreadable>>> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8(text)
        .map_err(|e| anyhow::anyhow!("{}: not UTF-8 text ({e})", path.display()))?;
    // A byte-order mark from spreadsheet software is not part of the first
    // column's name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    match ext.as_str() {
        "jsonl" | "ndjson" | "json" => Ok(json_lines(text)),
        "csv" => csv_records(text).with_context(|| path.display().to_string()),
        _ => bail!(
            "{}: give a .jsonl (JSON lines) or .csv (with a header row) file",
            path.display()
        ),
    }
}

pub fn json_lines(text: &str) -> Vec<Result<Record, Unreadable>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let line_no = i + 1;
        let record = match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(map)) => {
                let fields = map
                    .into_iter()
                    .filter_map(|(k, v)| {
                        let text = match v {
                            serde_json::Value::String(s) => s,
                            serde_json::Value::Number(n) => n.to_string(),
                            serde_json::Value::Bool(b) => b.to_string(),
                            _ => return None,
                        };
                        Some((k, text))
                    })
                    .collect();
                Ok(Record {
                    line: line_no,
                    fields,
                })
            }
            Ok(_) => Err(Unreadable {
                line: line_no,
                message: "not a JSON object".into(),
            }),
            Err(e) => Err(Unreadable {
                line: line_no,
                message: format!("not JSON: {e}"),
            }),
        };
        out.push(record);
    }
    out
}

pub fn csv_records(text: &str) -> Result<Vec<Result<Record, Unreadable>>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .context("the header row cannot be read")?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if headers.iter().all(|h| h.is_empty()) {
        bail!("the first row must name the columns");
    }
    let mut out = Vec::new();
    for result in reader.records() {
        out.push(match result {
            Ok(row) => Ok(Record {
                line: row.position().map_or(0, |p| p.line() as usize),
                fields: headers
                    .iter()
                    .cloned()
                    .zip(row.iter().map(str::to_owned))
                    .collect(),
            }),
            Err(e) => Err(Unreadable {
                line: e.position().map_or(0, |p| p.line() as usize),
                message: e.to_string(),
            }),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn json_lines_and_csv_give_the_same_records() {
        let (_d, jsonl) = file(
            "a.jsonl",
            "{\"title\":\"噪音\",\"id\":7}\n\n[1]\n{bad\n{\"title\":\" \"}\n",
        );
        let rows = read(&jsonl).unwrap();
        assert_eq!(rows.len(), 4);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(
            (first.line, first.get("title"), first.get("id")),
            (1, Some("噪音"), Some("7"))
        );
        assert_eq!(rows[1].as_ref().unwrap_err().line, 3);
        assert!(rows[2].as_ref().unwrap_err().message.contains("not JSON"));
        assert_eq!(
            rows[3].as_ref().unwrap().get("title"),
            None,
            "blank is absent"
        );

        let (_d, csv) = file(
            "a.csv",
            "\u{feff}title,detail\n噪音,\"夜里\n施工\"\n只有一列\n粉尘,工地\n",
        );
        let rows = read(&csv).unwrap();
        let first = rows[0].as_ref().unwrap();
        assert_eq!(
            (first.line, first.get("title"), first.get("detail")),
            (2, Some("噪音"), Some("夜里\n施工"))
        );
        assert_eq!(rows[1].as_ref().unwrap_err().line, 4);
        assert_eq!(rows[2].as_ref().unwrap().line, 5);
    }

    #[test]
    fn other_files_are_refused() {
        let (_d, txt) = file("a.txt", "x");
        assert!(read(&txt).unwrap_err().to_string().contains(".jsonl"));
        let (_d, bin) = file("b.csv", "");
        assert!(read(&bin).is_err());
    }
}
