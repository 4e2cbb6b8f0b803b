#!/usr/bin/env bash
# Every page's server time at scale: `jiefen gen` fills a store once (kept in
# target/bench-pages for later runs), then the real server is asked for each
# page many times as the demo staff, one request at a time; the server's own
# time comes from its Server-Timing header. Results go in BENCHMARKS.md.
#   benches/pages.sh [--cases 1000000] [--rounds 21]
set -euo pipefail
cd "$(dirname "$0")/.."
cases=1000000
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cases) cases="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
data="target/bench-pages/$cases"
# The agreement's PDF page needs a Chinese font (see README).
if [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] && [ -z "${JIEFEN_PDF_FONT:-}" ]; then
  echo "no Chinese font for the agreement PDF: apt-get install fonts-wqy-microhei" >&2
  exit 1
fi
cargo build --release -p jiefen -p jiefen-bench
date -u +"%Y-%m-%d %H:%M UTC"
if [ ! -f "$data/demo-credentials.txt" ]; then
  rm -rf "$data"
  /usr/bin/time -v ./target/release/jiefen gen --cases "$cases" --data "$data" 2> >(grep -E "Maximum resident|Elapsed" >&2)
fi
./target/release/jiefen-bench pages --data "$data" "${args[@]}"
