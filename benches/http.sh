#!/usr/bin/env bash
# HTTP intake and read benchmark: the real server against a bare axum + SQLite
# (or, with --database, PostgreSQL)
# baseline with the same durability. Results go in BENCHMARKS.md.
#   benches/http.sh [--clients 64] [--seconds 8] [--runs 3] [--database postgres://...]
#                   [--store DIR --baseline-rows N]   (jiefen on a generated store,
#                   the baseline's table holding N rows: see benches/scale.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p jiefen -p jiefen-bench
date -u +"%Y-%m-%d %H:%M UTC"
./target/release/jiefen-bench http --jiefen target/release/jiefen "$@"
