#!/usr/bin/env bash
# API conformance: schemathesis against /openapi.json of a real server with
# the demo data, as each role whose endpoints differ (a supervisor has the
# case endpoints, the administrator the people and engine endpoints, the
# auditor the security log). No server error, every status documented, every
# response matching its schema, schema-violating requests refused.
#
# Every check runs but positive_data_acceptance: the API refuses values a
# schema cannot describe (an ID number's GB 11643 check digit, codes that must
# name a jurisdiction, body or category that exists, actions the case's state
# does not allow, a reason required only with full=true), each with a
# documented 4xx; those refusals are tested with real data in crates/web/tests.
# A body over the server's size limit is refused with 413 before it is read,
# which .ci/schemathesis.toml counts as a refusal of schema-violating data.
# The server's request throttles are raised so that generated requests reach
# the handlers (429 is documented on every operation all the same).
#   .ci/schemathesis.sh [path/to/jiefen] [seconds per role]
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/debug/jiefen}"
seconds="${2:-60}"
python3 -m pip install -q --disable-pip-version-check schemathesis==4.32.5
data=$(mktemp -d)
log="$data/serve.log"
"$bin" serve --demo --demo-cases 120 --data "$data" --listen 127.0.0.1:0 \
  --account-rate 100000 --account-burst 100000 --address-rate 100000 --address-burst 100000 \
  2> "$log" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data" || true' EXIT
for _ in $(seq 1 120); do
  grep -q "running at http://" "$log" && break
  kill -0 $server 2>/dev/null || { cat "$log"; exit 1; }
  sleep 1
done
base=$(grep -o "running at http://[0-9.:]*" "$log" | head -n1 | sed 's/running at //')
echo "server at $base"
status=0
for user in supervisor.dongzhi admin auditor; do
  token=$("$bin" token create --user "$user" --name schemathesis --data "$data" | grep '^jf_')
  echo "== as $user"
  out="$data/st-$user.log"
  st --config-file .ci/schemathesis.toml run "$base/openapi.json" \
    -H "Authorization: Bearer $token" \
    --checks all --exclude-checks positive_data_acceptance \
    --max-time "$seconds" --workers 2 \
    --phases examples,coverage,fuzzing --no-color --seed 1 > "$out" 2>&1 || true
  grep -E "^(API Operations|Test cases|Failures|Errors|  [0-9]+ generated)" -A2 "$out" || true
  # A failed check of the API fails the run. A crash inside schemathesis's
  # own generator (Python's "AST constructor recursion depth mismatch",
  # seen with 4.32.5 on Python 3.11 as the auditor and administrator) is
  # reported as an error, not a failure, and only warned about.
  if grep -q "^Failures:" "$out"; then
    sed -n '/^=* FAILURES/,/^=* SUMMARY/p' "$out" | head -n 200
    status=1
  elif ! grep -q "generated" "$out"; then
    tail -n 40 "$out"
    status=1
  elif grep -q "^Errors:" "$out"; then
    echo "warning: schemathesis itself failed on some operations as $user (not a failure of the API)"
  fi
done
if grep -q " panicked at " "$log"; then
  grep -B2 -A10 " panicked at " "$log"
  status=1
fi
exit $status
