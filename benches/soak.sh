#!/usr/bin/env bash
# The soak: a mixed load (reads, lists, searches, registrations, actions, the
# deadline engine ticking) held for ten minutes against one server, reported
# window by window with the server's RSS. Results go in BENCHMARKS.md.
#   benches/soak.sh [--minutes 10] [--clients 16] [--window-seconds 30]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p jiefen -p jiefen-bench
date -u +"%Y-%m-%d %H:%M UTC"
./target/release/jiefen-bench soak --jiefen target/release/jiefen "$@"
