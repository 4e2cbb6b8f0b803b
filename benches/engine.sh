#!/usr/bin/env bash
# Deadline-engine tick at scale: one tick where 1,000 cases change signal and
# one where nothing does, among 1,000,000 open cases in SQLite (or, with
# --database URL, PostgreSQL). The store is loaded once through the ledger's
# bulk path (3 million events) and kept in target/bench-engine (or the
# database) for later runs. Results go in BENCHMARKS.md.
#   benches/engine.sh [--cases 1000000] [--changing 1000] [--rounds 15] [--database URL]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p jiefen-bench
date -u +"%Y-%m-%d %H:%M UTC"
./target/release/jiefen-bench engine "$@"
