"""Cross-checks Jiefen's built-in working-day calendar (the chinese_holiday
crate) against the PyPI chinesecalendar package, day by day, 2004-2026.

Usage: python3 .ci/calendar_crosscheck.py path/to/jiefen
"""
import datetime
import subprocess
import sys

import chinese_calendar

jiefen = sys.argv[1]
out = subprocess.run(
    [jiefen, "calendar", "2004-01-01", "2026-12-25"],
    check=True, capture_output=True, text=True,
).stdout
# Days where chinesecalendar is the one that is wrong, with the notice.
KNOWN = {
    # 国务院办公厅关于2006年部分节假日安排的通知：12月31日（星期六）上班。
    "2005-12-31": "work",
}
checked = 0
mismatches = []
for line in out.splitlines():
    date_s, kind, *rest = line.split(",")
    day = datetime.date.fromisoformat(date_s)
    try:
        theirs = chinese_calendar.is_workday(day)
    except NotImplementedError:
        continue  # a year that package does not know
    ours = kind == "work"
    if date_s in KNOWN:
        if KNOWN[date_s] != kind:
            mismatches.append(f"{date_s}: jiefen says {kind}, the notice says {KNOWN[date_s]}")
        checked += 1
        continue
    if rest:
        mismatches.append(f"{date_s}: assumed in jiefen")
    elif ours != theirs:
        mismatches.append(f"{date_s}: jiefen says {kind}, chinesecalendar says {'work' if theirs else 'off'}")
    checked += 1
print(f"calendar cross-check: {checked} days compared")
if checked < 365 * 20:
    print("too few days compared")
    sys.exit(1)
if mismatches:
    print("\n".join(mismatches[:50]))
    print(f"{len(mismatches)} mismatches")
    sys.exit(1)
print(f"{checked} passed, 0 failed")
