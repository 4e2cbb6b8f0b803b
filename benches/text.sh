#!/usr/bin/env bash
# Text at scale (issue 5): indexing 1,000,000 synthetic cases built from the
# real messages' vocabulary (../shared/data/tipdm-messages.jsonl, read in
# place), search latency by query kind, and the intake's repeat check for one
# draft. The index is built afresh in target/bench-text. Results go in
# BENCHMARKS.md; classification is `cargo bench -p jiefen-text --bench classify`.
#   benches/text.sh [--cases 1000000] [--queries 1000] [--drafts 1000] [--dir target/bench-text]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p jiefen-bench
date -u +"%Y-%m-%d %H:%M UTC"
lscpu | grep 'Model name' || true
echo "cores: $(nproc)"
./target/release/jiefen-bench text "$@"
