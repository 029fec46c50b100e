"""A known-answer quarter (2026 Q3) whose verdicts were worked out by hand, independently of the project's code.

Contract KQ-2026 starts 17 June 2026: start phase 17-30 June, transition 1-14 July (no SLA), normal after.
Targets (seed 002): response 10 min (7x24, from the report); major on site 60 min and resolution 240 min (7x24),
general on site 120 min (5x8: 09:00-12:00, 13:00-18:00 on statutory working days) and resolution 1440 min
(7x24), on site and resolution counted from the acknowledgement. The 2026 calendar is tests/sla/calendars/
2026.yaml (Mid-Autumn 25-27 Sep, National Day 1-7 Oct, make-up working day Sunday 20 Sep).

Each row: title, reported, acknowledged, on site, resolved (local times, None = never), the facts that grade it,
escalated, and the hand-worked verdicts (response, on site, resolution): met, missed, open (clock not started or
still within target at review time), n/a (transition phase, or resolved without a visit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")
MAJOR_I = {"core_unavailable_pct": 70, "expected_recovery_hours": 13}  # > 60 % and > 12 h: level I
MAJOR_II = {"core_unavailable_pct": 70, "expected_recovery_hours": 2}  # > 60 %: level II
MAJOR_III = {"core_unavailable_pct": 30, "expected_recovery_hours": 8}  # ≥ 20 %, 6-12 h: level III
MAJOR_LOST = {"business_function_lost": True}  # ordinary level, major fault
GENERAL: dict[str, Any] = {}

# title, reported, ack, on site, resolved, facts, escalated, (response, on site, resolution), why
ROWS: list[tuple[str, str, str | None, str | None, str | None, dict[str, Any], bool, tuple[str, str, str], str]] = [
    ("T1", "07-02 09:00", "07-02 09:40", None, "07-02 10:30", GENERAL, False, ("n/a", "n/a", "n/a"),
     "transition phase: no SLA however late"),
    ("T2", "07-10 14:00", "07-10 14:05", "07-10 18:00", "07-13 10:00", GENERAL, False, ("n/a", "n/a", "n/a"),
     "transition phase"),
    ("T3", "07-14 23:00", "07-14 23:30", None, "07-15 02:00", MAJOR_II, True, ("n/a", "n/a", "n/a"),
     "last evening of the transition; its escalation is not in the escalation rate"),
    ("G1", "07-15 10:00", "07-15 10:05", "07-15 11:30", "07-15 16:00", GENERAL, False, ("met", "met", "met"),
     "85 business min on site"),
    ("G2", "07-16 09:55", "07-16 10:00", "07-16 12:40", "07-16 15:00", GENERAL, False, ("met", "met", "met"),
     "on site 12:40 in the lunch break: 120 business min, met though after the 12:00 due time"),
    ("G3", "07-17 10:30", "07-17 10:38", "07-17 13:40", "07-18 11:00", GENERAL, False,
     ("met", "missed", "missed"), "82 min before lunch + 40 after = 122 > 120; resolution 1462 min"),
    ("G4", "07-24 17:00", "07-24 17:12", "07-27 10:00", "07-27 15:00", GENERAL, False,
     ("missed", "met", "missed"), "response 12 min; Fri 48 + Mon 60 = 108 on site; resolution 4188 min"),
    ("G5", "09-24 17:30", "09-24 17:35", "09-28 10:00", "09-28 12:00", GENERAL, False,
     ("met", "met", "missed"), "Mid-Autumn 25-27 Sep rests: Thu 25 + Mon 60 = 85 on site"),
    ("G6", "09-19 16:00", "09-19 16:06", "09-21 09:30", "09-21 12:00", GENERAL, False,
     ("met", "missed", "missed"), "Sunday 20 Sep is a make-up working day: due Sun 11:00, arrival Mon 09:30"),
    ("G7", "08-08 10:00", "08-08 10:20", "08-10 10:30", "08-10 09:00", GENERAL, False,
     ("missed", "met", "missed"), "a weekend without make-up day: 90 business min on site"),
    ("G8", "08-11 14:00", "08-11 14:03", None, "08-11 15:00", GENERAL, False, ("met", "n/a", "met"),
     "resolved without a visit: no on-site measure"),
    ("G9", "08-12 09:00", "08-12 09:30", None, "08-13 10:00", GENERAL, True, ("missed", "n/a", "missed"),
     "response 30 min; resolution 1470 min; escalated"),
    ("G10", "09-30 22:00", "09-30 22:04", None, None, GENERAL, False, ("met", "missed", "missed"),
     "reported late on 30 Sep, unresolved at review: on site due 8 Oct 11:00 (National Day), both passed"),
    ("G11", "09-29 16:00", "09-29 16:05", "09-29 17:00", None, GENERAL, False, ("met", "met", "missed"),
     "unresolved at review, resolution due 30 Sep 16:05"),
    ("G12", "08-03 09:00", "08-03 09:04", "08-03 10:00", "08-03 13:00", GENERAL, False, ("met", "met", "met"),
     "all within"),
    ("G13", "09-01 11:00", "09-01 11:09", "09-01 13:30", "09-01 18:00", GENERAL, False, ("met", "met", "met"),
     "51 + 30 = 81 business min across lunch"),
    ("G14", "09-02 10:25", "09-02 10:30", "09-02 12:30", "09-02 16:00", GENERAL, False, ("met", "met", "met"),
     "lunch-break arrival: 90 business min"),
    ("G15", "09-03 09:00", "09-03 09:10", "09-03 09:50", "09-04 09:10", GENERAL, False, ("met", "met", "met"),
     "response exactly 10 min and resolution exactly 1440 min: met"),
    ("G16", "09-04 15:00", None, None, None, GENERAL, False, ("missed", "open", "open"),
     "never acknowledged: response missed; on site and resolution never started"),
    ("G17", "09-30 17:30", "09-30 17:33", "10-08 10:30", "10-08 15:00", GENERAL, False,
     ("met", "met", "missed"), "27 min on 30 Sep, National Day, 90 on 8 Oct = 117 on site"),
    ("M1", "07-16 02:00", "07-16 02:08", "07-16 02:55", "07-16 05:30", MAJOR_I, True, ("met", "met", "met"),
     "47 on site, 202 resolution"),
    ("M2", "08-16 12:00", "08-16 12:15", "08-16 13:20", "08-16 16:00", MAJOR_II, False,
     ("missed", "missed", "met"), "15 response, 65 on site, 225 resolution"),
    ("M3", "08-31 20:00", "08-31 20:05", None, "09-01 01:00", MAJOR_III, True, ("met", "n/a", "missed"),
     "no visit; 295 resolution"),
    ("M4", "09-30 20:00", "09-30 20:03", "09-30 20:50", None, MAJOR_LOST, True, ("met", "met", "missed"),
     "unresolved at review"),
    # Noise: reported in Q2 (start phase) and in Q4.
    ("Q2", "06-30 23:50", "06-30 23:55", None, "07-01 00:50", GENERAL, False, ("met", "n/a", "met"),
     "reported in Q2, resolved in Q3: a Q2 incident"),
    ("Q4", "10-02 10:00", "10-02 10:05", None, "10-02 11:00", MAJOR_II, False, ("met", "n/a", "met"),
     "reported in Q4"),
]
LEVELS = {"T3": "II", "M1": "I", "M2": "II", "M3": "III", "Q4": "II"}  # the rest are ordinary
MEASURES = ("response", "on_site", "resolution")


def at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(f"2026-{text}").replace(tzinfo=SH)


def import_rows(contract_code: str) -> list[dict[str, Any]]:
    """The rows as the import API takes them."""
    rows = []
    for title, reported, ack, on_site, resolved, facts, escalated, _verdicts, why in ROWS:
        row = {"title": title, "symptom": why, "reported_at": at(reported).isoformat(), "contract_code": contract_code,
               "escalated": escalated, **facts}
        for name, value in (("acknowledged_at", ack), ("on_site_at", on_site), ("resolved_at", resolved)):
            if value is not None:
                row[name] = at(value).isoformat()
        rows.append(row)
    return rows


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def expected_incident_figures() -> dict[str, Any]:
    """The Q3 figures from the hand-worked verdicts, by plain counting (no project code)."""
    q3 = [r for r in ROWS if r[0] not in ("Q2", "Q4")]
    sla = [r for r in q3 if r[7][0] != "n/a"]
    per: dict[str, dict[str, dict[str, Any]]] = {"major": {}, "general": {}}
    totals = {m: [0, 0, 0] for m in MEASURES}
    for klass in per:
        rows = [r for r in sla if (r[5] is not GENERAL) == (klass == "major")]
        for index, measure in enumerate(MEASURES):
            verdicts = [r[7][index] for r in rows]
            measured = sum(v in ("met", "missed") for v in verdicts)
            met, still_open = verdicts.count("met"), verdicts.count("open")
            per[klass][measure] = {"measured": measured, "met": met, "achievement": _rate(met, measured),
                                   "open": still_open}
            for slot, value in enumerate((measured, met, still_open)):
                totals[measure][slot] += value
    acked = [(at(r[2]) - at(r[1])).total_seconds() / 60 for r in sla if r[2]]
    restored = [(at(r[4]) - at(r[1])).total_seconds() / 60 for r in sla if r[4]]
    escalated = sum(r[6] for r in sla)
    levels = {"I": 0, "II": 0, "III": 0, "ordinary": 0}
    for r in q3:
        levels[LEVELS.get(r[0], "ordinary")] += 1

    def fraction(measure: str) -> dict[str, Any]:
        measured, met, still_open = totals[measure]
        return {"numerator": met, "denominator": measured, "rate": _rate(met, measured), "open": still_open}

    return {
        "total": len(q3), "by_level": levels, "transition_excluded": len(q3) - len(sla), "sla_applicable": len(sla),
        "provisional": 0, "escalated": escalated, "mtta_minutes": round(sum(acked) / len(acked), 2),
        "mttr_minutes": round(sum(restored) / len(restored), 2), "sla": per,
        "timely_response_rate": fraction("response")["rate"], "timely_resolution_rate": fraction("resolution")["rate"],
        "escalation_rate": _rate(escalated, len(sla)),
        "fractions": {"timely_response": fraction("response"), "timely_on_site": fraction("on_site"),
                      "timely_resolution": fraction("resolution"),
                      "escalation": {"numerator": escalated, "denominator": len(sla),
                                     "rate": _rate(escalated, len(sla))}},
    }
