#!/usr/bin/env python3
"""Writes deploy/seed/holidays/<CC>.ics: the public holidays of every country
in deploy/seed/cities.yaml (and Korea, where the experts work), 2026-2028,
as RFC 5545 iCalendar files for `ileaps admin holidays import`.

The dates come from the PyPI package `holidays` (the "Open World Holidays
Framework"), pinned below so that a regeneration is reproducible. The files
are generated once and committed; ileaps never runs this script.

To regenerate (say, for more years or a newer `holidays`):

    pip install holidays==0.108
    python3 deploy/seed/holidays/generate.py            # from the repository root
    SOURCE_DATE_EPOCH=1796515200 python3 deploy/seed/holidays/generate.py

then review `git diff deploy/seed/holidays` and commit. DTSTAMP is
SOURCE_DATE_EPOCH when set, else midnight UTC today.

What the files hold: one all-day VEVENT per holiday (DTSTART;VALUE=DATE). Days
in a row with the same name (an Eid holiday of three days) become one event
whose DTEND is the day after the last (RFC 5545: DTEND is exclusive), as
calendar services publish them. Several holidays on one day are one event whose
SUMMARY lists them, separated by "; " as `holidays` gives them. Islamic and
lunar dates that `holidays` marks "(estimated)" are kept: they are the best
dates known in advance, and an operator can import an official file over them.

Gaps: `holidays` gives a year only when it knows it. Sri Lanka's holidays
(Poya days among them) are fixed by a yearly government gazette, and
`holidays` 0.108 has only 2026 for LK: LK.ics covers 2026 alone, and the
script says so. Import the gazette's calendar for later years when it is out.
"""

import datetime as dt
import os
import pathlib
import re
import sys

import holidays

PINNED = "0.108"
YEARS = range(2026, 2029)
HERE = pathlib.Path(__file__).resolve().parent
CITIES = HERE.parent / "cities.yaml"
# The experts work from Seoul: Korea's holidays always count.
ALWAYS = {"KR"}


def countries():
    """The `country:` values of cities.yaml (read without a YAML library:
    the file's layout is fixed and checked by `ileaps admin cities import`)."""
    found = set(re.findall(r"^\s+country:\s*([A-Z]{2})\s*$", CITIES.read_text(), re.M))
    if not found:
        sys.exit(f"no countries found in {CITIES}")
    return sorted(found | ALWAYS)


def escape(text):
    """TEXT value escaping, RFC 5545 section 3.3.11."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\n", "\\n")
    )


def fold(line):
    """Lines of at most 75 octets, continued with CRLF and a space (section
    3.1), never splitting a UTF-8 character."""
    out, current = [], b""
    for char in line:
        encoded = char.encode("utf-8")
        limit = 75 if not out else 74  # a continuation starts with a space
        if len(current) + len(encoded) > limit:
            out.append(current)
            current = b""
        current += encoded
    out.append(current)
    return b"\r\n ".join(out).decode("utf-8")


def events(country):
    """(first day, last day, name) runs of one name on consecutive days."""
    days = sorted(holidays.country_holidays(country, years=YEARS).items())
    runs = []
    for day, name in days:
        if runs and runs[-1][2] == name and runs[-1][1] + dt.timedelta(days=1) == day:
            runs[-1][1] = day
        else:
            runs.append([day, day, name])
    return runs


def calendar(country, stamp):
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//ileaps//seed holidays (python holidays {holidays.__version__})//EN",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:Public holidays {country} {YEARS[0]}-{YEARS[-1]}",
    ]
    for first, last, name in events(country):
        lines += [
            "BEGIN:VEVENT",
            f"UID:{first:%Y%m%d}-{country.lower()}@holidays.ileaps",
            f"DTSTAMP:{stamp:%Y%m%dT%H%M%SZ}",
            f"DTSTART;VALUE=DATE:{first:%Y%m%d}",
            f"DTEND;VALUE=DATE:{last + dt.timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{escape(name)}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def main():
    if holidays.__version__ != PINNED:
        sys.exit(f"holidays {holidays.__version__} installed; pin is {PINNED} (pip install holidays=={PINNED})")
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    stamp = (
        dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
        if epoch
        else dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    )
    for country in countries():
        path = HERE / f"{country}.ics"
        # newline="" keeps the CRLF line endings RFC 5545 requires.
        with open(path, "w", encoding="utf-8", newline="") as out:
            out.write(calendar(country, stamp))
        runs = events(country)
        print(f"{path.relative_to(HERE.parent.parent.parent)}: {len(runs)} events")
        missing = [y for y in YEARS if not any(first.year == y for first, _, _ in runs)]
        if missing:
            print(f"  warning: holidays {holidays.__version__} knows no {country} holidays for {missing}")


if __name__ == "__main__":
    main()
