"""Change windows: recurring windows across midnight, freezes, statutory holidays, requested windows."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.changes.rules import allowed, classify
from models.changes.tables import ChangeType
from models.changes.windows import WindowRule, next_slot
from models.sla.business_time import is_statutory_holiday

SH = ZoneInfo("Asia/Shanghai")
NIGHTS = WindowRule(frozenset({1, 2, 3, 4, 5}), time(22, 0), time(6, 0), SH)  # weekdays 22:00-06:00


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def slot(now: datetime, *, minutes: int = 60, requested=None, windows=(NIGHTS,), freezes=(), holidays=True):
    return next_slot(now, minutes=minutes, requested=requested, windows=list(windows), freezes=list(freezes),
                     zone=SH, is_holiday=is_statutory_holiday if holidays else None)


def test_afternoon_waits_for_the_night_window() -> None:
    assert slot(at(2026, 11, 23, 15, 0)) == (at(2026, 11, 23, 22, 0), at(2026, 11, 24, 6, 0))


def test_inside_the_window_runs_now_until_it_closes() -> None:
    # Tuesday 02:00 is inside Monday night's window, which runs past midnight.
    assert slot(at(2026, 11, 24, 2, 0)) == (at(2026, 11, 24, 2, 0), at(2026, 11, 24, 6, 0))


def test_too_little_window_left_waits_for_the_next() -> None:
    assert slot(at(2026, 11, 24, 5, 30), minutes=60)[0] == at(2026, 11, 24, 22, 0)


def test_friday_night_runs_into_saturday_but_saturday_opens_no_window() -> None:
    assert slot(at(2026, 11, 28, 12, 0))[0] == at(2026, 11, 30, 22, 0)  # Saturday noon → Monday night


def test_freeze_pushes_the_change_past_it() -> None:
    meeting = (at(2026, 11, 23, 0, 0), at(2026, 11, 26, 0, 0))  # 重大会议保障, Mon-Wed
    assert slot(at(2026, 11, 23, 15, 0), freezes=[meeting])[0] == at(2026, 11, 26, 0, 0)


def test_statutory_holidays_are_frozen() -> None:
    # 30 Sep 2026 (Wed) night runs until midnight, then National Day freezes 1-7 Oct.
    assert slot(at(2026, 9, 30, 15, 0), minutes=60) == (at(2026, 9, 30, 22, 0), at(2026, 10, 1, 0, 0))
    assert slot(at(2026, 10, 1, 9, 0), minutes=60)[0] == at(2026, 10, 8, 0, 0)  # Thursday 8 Oct, 00:00-06:00
    assert slot(at(2026, 10, 1, 9, 0), minutes=60, holidays=False)[0] == at(2026, 10, 1, 22, 0)


def test_requested_window_is_intersected_and_can_be_missed() -> None:
    requested = (at(2026, 11, 24, 23, 0), at(2026, 11, 25, 1, 0))
    assert slot(at(2026, 11, 23, 15, 0), requested=requested) == requested
    assert slot(at(2026, 11, 25, 0, 30), requested=requested) is None  # 30 min left, 60 needed
    assert slot(at(2026, 11, 23, 15, 0), requested=(at(2026, 11, 24, 10, 0), at(2026, 11, 24, 12, 0))) is None


def test_without_windows_the_requested_window_decides() -> None:
    now = at(2026, 11, 23, 15, 0)
    assert slot(now, windows=(), requested=(now + timedelta(minutes=5), now + timedelta(hours=2)))[0] == \
        now + timedelta(minutes=5)
    assert slot(now, windows=())[0] == now


def test_classification_follows_the_seed() -> None:
    assert classify(standard_kind="account_management", characteristics=[]).minimum == ChangeType.STANDARD
    assert classify(standard_kind=None, characteristics=[]).minimum == ChangeType.NORMAL
    rules = classify(standard_kind="nonprod_software", characteristics=[], from_version="2.3", to_version="3.0")
    assert rules.minimum == ChangeType.MAJOR and "major version upgrade" in rules.reasons[0]
    assert classify(standard_kind=None, characteristics=["network_topology"]).minimum == ChangeType.MAJOR
    assert classify(standard_kind=None, characteristics=[], facility_ci=True).minimum == ChangeType.MAJOR
    assert not allowed(ChangeType.NORMAL, rules) and allowed(ChangeType.EMERGENCY, rules)
    assert allowed(ChangeType.NORMAL, classify(standard_kind="document_edit", characteristics=[]))
