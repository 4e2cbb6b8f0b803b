#!/usr/bin/env bash
# The issue-7 table at one size on one backend: generate a store once (kept
# for later runs), then on it every page (lists, search, dashboard, a case by
# id, the server's peak RSS), HTTP intake and reads against the bare
# baseline holding as many rows, the import of the real messages, and the
# deadline engine's tick among as many open cases. Results go in
# BENCHMARKS.md.
#   benches/scale.sh [--cases 1000000] [--database postgres://...]
# With --database, the stores are the databases jiefen_scale_N and
# jiefen_engine_N on that server (created when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
cases=1000000
database=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cases) cases="$2"; shift 2 ;;
    --database) database="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
# The agreement's PDF page needs a Chinese font (see README).
if [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] && [ -z "${JIEFEN_PDF_FONT:-}" ]; then
  echo "no Chinese font for the agreement PDF: apt-get install fonts-wqy-microhei" >&2
  exit 1
fi
cargo build --release -p jiefen -p jiefen-bench
bin=./target/release
date -u +"%Y-%m-%d %H:%M UTC"
git log -1 --format="commit %h"

store=()
engine=()
if [ -n "$database" ]; then
  server="${database%/*}"
  for db in "jiefen_scale_$cases" "jiefen_engine_$cases"; do
    psql "$database" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 ||
      psql "$database" -c "CREATE DATABASE $db" >/dev/null
  done
  data="target/bench-scale/postgres-$cases"
  store=(--database "$server/jiefen_scale_$cases")
  engine=(--database "$server/jiefen_engine_$cases")
else
  data="target/bench-scale/sqlite-$cases"
  engine=(--data "target/bench-scale/engine-$cases")
fi

echo "## generate"
if [ ! -f "$data/demo-credentials.txt" ]; then
  rm -rf "$data"
  /usr/bin/time -v "$bin/jiefen" gen --cases "$cases" --data "$data" "${store[@]}" \
    2> >(grep -E "Maximum resident|Elapsed|cases|indexed" >&2)
else
  echo "kept from an earlier run: $data"
fi

echo "## pages"
"$bin/jiefen-bench" pages --data "$data" "${store[@]}"

echo "## HTTP intake and reads"
# The generated store's own database: jiefen runs on it, the baseline in a
# schema of its own there.
"$bin/jiefen-bench" http --seconds 8 --runs 3 --store "$data" --baseline-rows "$cases" \
  ${database:+--database "$server/jiefen_scale_$cases"}

echo "## import of the real messages"
messages=../shared/data/tipdm-messages.jsonl
if [ -f "$messages" ]; then
  # A fresh copy each run with new ids, so the import registers rather than
  # replays.
  run=$(date +%s)
  sed -E "s/^\{\"id\": ([0-9]+)/{\"id\": \"$run-\1\"/" "$messages" > "target/bench-scale/messages-$run.jsonl"
  /usr/bin/time -f "import: %e s, peak RSS %M KB" \
    "$bin/jiefen" import "target/bench-scale/messages-$run.jsonl" --jurisdiction 341721 \
    --data "$data" "${store[@]}"
  rm "target/bench-scale/messages-$run.jsonl"
else
  echo "$messages is missing: no import run" >&2
  exit 1
fi

echo "## deadline engine"
"$bin/jiefen-bench" engine --cases "$cases" --changing 1000 --rounds 15 "${engine[@]}"
