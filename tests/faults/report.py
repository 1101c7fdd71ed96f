"""The fault runs' figures as Markdown: what each run prints, and what docs/reliability.md shows.

    .venv/bin/python -m tests.faults.report    # every run in var/fault-results/, in the order of the runs

Each run writes its figures to var/fault-results/<fault>.json (tests/faults/test_faults.py); this only
lays them out, so the page shows what the runs measured and nothing else.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "var" / "fault-results"
ORDER = ("broker", "worker", "redis", "postgres", "web")


def _counts(counts: dict) -> str:
    return ", ".join(f"{label} ×{n}" for label, n in sorted(counts.items(), key=lambda kv: -kv[1])) or "none"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def caught_up(ev: dict) -> str:
    """When the last part (the relays, each consumer) had every event recorded up to the fault's end."""
    parts = 1 + len(ev["applications_expected"])
    if len(ev["caught_up_s"]) < parts:
        return "NOT caught up"
    return _seconds(max(ev["caught_up_s"].values()))


def _notes(value) -> str:
    """What a fault noted, nested dicts as "what: figures", counts of 0 left out."""
    if isinstance(value, dict):
        parts = [f"{k} {_notes(v)}" for k, v in value.items() if v not in (0, {}, None)]
        return "(" + ", ".join(parts) + ")" if parts else "(none)"
    return str(value)


def summary_row(r: dict) -> str:
    requests = r["requests"].values()
    accepted = sum(row["accepted"] for row in requests)
    refused = sum(sum(row["refused"].values()) for row in requests)
    unclean = sum(sum(row["unclean"].values()) for row in requests)
    ev, seats, money = r["events"], r["seats"], r["money"]
    duplicates = sum(ev["duplicates_absorbed"].values())
    applied = sum(ev["applied"].values())
    expected = sum(ev["applications_expected"].values())
    seats_state = "reconciled" if not seats["problems"] else "MISMATCH"
    money_state = "reconciled" if not money["problems"] else "MISMATCH"
    return (
        f"| {r['title']} | {r['seed']} | {r['N']['operations_total']} ops, {r['N']['requests']} requests "
        f"| {accepted} / {refused} / {unclean} "
        f"| {ev['produced']} / {applied} of {expected} / {duplicates} / {ev['lost']} "
        f"| {seats['confirmed']} of {seats['seats']} seats, {seats_state} "
        f"| {money['spent_fen'] / 100:,.2f} of {money['budget_fen'] / 100:,.2f} yuan, {money_state} "
        f"| {_seconds(r['fault_window_s']['length'])} | {caught_up(ev)} |"
    )


SUMMARY_HEAD = (
    "| fault | seed | N | requests accepted / refused cleanly / unclean "
    "| events produced / applied / duplicates absorbed / lost | seats | money | fault lasted "
    "| events caught up |\n|---|---|---|---|---|---|---|---|---|"
)


def details(r: dict) -> str:
    lines = [
        f"#### {r['title']}",
        "",
        f"{r['date']}; seed `{r['seed']}`; load {r['phases_s']['before']:.0f} s before the fault and "
        f"{r['phases_s']['after']:.0f} s after its end; the fault itself "
        f"{r['fault_window_s']['length']:.1f} s ({r['fault_window_s']['how']}); machine load average (1 min) "
        f"{r['machine_load'][0]:.2f} before, {r['machine_load'][1]:.2f} after.",
        "",
        f"N: {_counts(r['N']['operations'])}; {r['N']['requests']} requests.",
        "",
        "| endpoint | requests | accepted | refused (status, code: count) | unclean | first success after "
        "the fault's end | refused for |",
        "|---|---|---|---|---|---|---|",
    ]
    for endpoint, row in r["requests"].items():
        rec = r["recovery"][endpoint]
        lines.append(
            f"| {endpoint} | {row['requests']} | {row['accepted']} | {_counts(row['refused'])} "
            f"| {_counts(row['unclean'])} | {_seconds(rec['first_success_after_end_s'])} "
            f"| {_seconds(rec['refused_for_s'])} |"
        )
    ev, seats, money = r["events"], r["seats"], r["money"]
    applied = ", ".join(f"{c} {ev['applied'][c]} of {n}" for c, n in ev["applications_expected"].items())
    lines += [
        "",
        f"Events: {ev['produced']} produced ({_counts(ev['produced_by_type'])}), {ev['on_topic']} on their "
        f"topic, {ev['republished_copies']} published again; applied {applied}; "
        f"duplicates absorbed by the consumers: {_counts(ev['duplicates_absorbed'])}; dead-lettered "
        f"{ev['dead_lettered']}; **lost {ev['lost']}**. The events recorded up to the fault's end: "
        + ", ".join(f"{part} {_seconds(s)}" for part, s in ev["caught_up_s"].items())
        + " after it.",
        "",
        f"Seats: {seats['courses']} courses, {seats['seats']} seats; answers {_counts(seats['answers'])}; "
        f"{seats['confirmed']} confirmed and {seats['waitlisted']} waitlisted in courses' database, "
        + ("exactly the answers." if not seats["problems"] else "; ".join(seats["problems"]) + "."),
        "",
        f"Money: budget {money['budget_fen'] / 100:,.2f} yuan; answers {_counts(money['answers'])}; "
        f"{money['redemptions']} redemptions in merchants' database, discounting "
        f"{money['spent_fen'] / 100:,.2f} yuan, what the budget lost and what the accepted answers said "
        f"({money['discounts_answered_fen'] / 100:,.2f})"
        + ("." if not money["problems"] else ": " + "; ".join(money["problems"]) + "."),
    ]
    if r["notes"]:
        lines += [
            "",
            "During the fault: " + "; ".join(f"{k} {_notes(v)}" for k, v in r["notes"].items()) + ".",
        ]
    return "\n".join(lines)


def render(reports: list[dict]) -> str:
    return "\n".join(
        [SUMMARY_HEAD, *(summary_row(r) for r in reports), "", *(details(r) + "\n" for r in reports)]
    )


def load_all(directory: Path = RESULTS) -> list[dict]:
    found = {p.stem: json.loads(p.read_text()) for p in directory.glob("*.json")}
    return [found[name] for name in ORDER if name in found]


if __name__ == "__main__":
    reports = load_all()
    if not reports:
        sys.exit(f"no fault runs in {RESULTS}; run them with `.venv/bin/pytest tests/faults`")
    print(render(reports))
