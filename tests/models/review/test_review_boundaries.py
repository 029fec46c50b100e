"""Boundaries of the quarterly figures a customer checks by hand: a deadline met exactly, a CMDB update
exactly 24 h after the change, the first and last instant of a quarter. Explicit 2026 instants only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from models.changes.tables import ChangeStatus, ChangeType
from models.directory.roles import RoleKey
from models.directory.service import create_person
from models.incidents.clocks import settle_clocks
from models.incidents.grading import Level
from models.review.metrics import (
    change_metrics_for,
    compliance_metrics,
    incident_metrics,
    previous_quarter,
    quarter_bounds,
)
from models.sla.policies import FaultClass
from tests.support.history import _change, _incident

SH = ZoneInfo("Asia/Shanghai")
M, S, H = timedelta(minutes=1), timedelta(seconds=1), timedelta(hours=1)
CONTRACT = 1  # records without a contract count for every contract


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def general(session: Session, reported: datetime, *, ack: timedelta | None, resolved: timedelta | None = None):
    return _incident(session, None, "x", Level.ORDINARY, FaultClass.GENERAL, reported, ack=ack, on_site=None,
                     resolved=resolved, response=10 * M, on_site_target=2 * H, resolution=24 * H)


@pytest.mark.parametrize("quarter", [1, 2, 3, 4])
def test_quarter_bounds_are_the_first_instants_of_their_months(quarter: int) -> None:
    start, end = quarter_bounds(2026, quarter, SH)
    assert start == at(2026, 3 * quarter - 2, 1)
    assert end == (at(2027, 1, 1) if quarter == 4 else at(2026, 3 * quarter + 1, 1))
    if quarter > 1:  # quarters tile the year: each ends where the next begins
        assert quarter_bounds(2026, quarter - 1, SH)[1] == start
    assert previous_quarter(2026, quarter) == ((2025, 4) if quarter == 1 else (2026, quarter - 1))


def test_bad_quarter_is_refused() -> None:
    for quarter in (0, 5):
        with pytest.raises(ValueError, match=r"^quarter must be 1, 2, 3 or 4$"):
            quarter_bounds(2026, quarter, SH)


def test_an_incident_counts_in_the_quarter_it_was_reported_in_up_to_the_last_instant(session: Session) -> None:
    q3_start, q3_end = quarter_bounds(2026, 3, SH)
    general(session, q3_start, ack=5 * M)  # first instant of Q3: counts
    general(session, q3_end - S, ack=5 * M)  # 23:59:59 on 30 Sep: counts
    general(session, q3_end, ack=5 * M)  # 00:00 on 1 Oct: Q4
    general(session, q3_start - S, ack=5 * M)  # Q2
    session.commit()
    assert incident_metrics(session, CONTRACT, q3_start, q3_end)["total"] == 2
    assert incident_metrics(session, CONTRACT, *quarter_bounds(2026, 4, SH))["total"] == 1


def test_a_clock_stopped_exactly_at_its_deadline_is_met_one_second_later_is_not(session: Session) -> None:
    start, end = quarter_bounds(2026, 3, SH)
    general(session, at(2026, 8, 3, 10, 0), ack=10 * M)  # acknowledged exactly at the 10-minute deadline
    general(session, at(2026, 8, 4, 10, 0), ack=10 * M + S)  # one second late
    settle_clocks(session, start, end, end)  # as the review does before it counts
    session.commit()
    response = incident_metrics(session, CONTRACT, start, end)["sla"]["general"]["response"]
    assert response == {"measured": 2, "met": 1, "achievement": 0.5, "open": 0}


def test_resolution_exactly_at_its_deadline_is_met(session: Session) -> None:
    start, end = quarter_bounds(2026, 3, SH)
    general(session, at(2026, 8, 3, 10, 0), ack=5 * M, resolved=24 * H)
    general(session, at(2026, 8, 4, 10, 0), ack=5 * M, resolved=24 * H + S)
    settle_clocks(session, start, end, end)
    session.commit()
    figures = incident_metrics(session, CONTRACT, start, end)
    assert figures["sla"]["general"]["resolution"] == {"measured": 2, "met": 1, "achievement": 0.5, "open": 0}
    assert figures["timely_resolution_rate"] == 0.5


def test_a_cmdb_update_exactly_24_h_after_the_change_is_on_time_a_minute_later_is_late(session: Session) -> None:
    person = create_person(session, name="cm", roles=[RoleKey.CHANGE_MANAGER], actor="test")
    session.flush()
    start, end = quarter_bounds(2026, 3, SH)
    for day, after in ((3, 24 * H), (4, 24 * H + M), (5, 23 * H)):
        _change(session, person.id, None, f"c{day}", ChangeType.NORMAL, ChangeStatus.SUCCEEDED,
                at(2026, 8, day, 10, 0), ci_ids=[1], cmdb_after=after)
    _change(session, person.id, None, "never updated", ChangeType.NORMAL, ChangeStatus.SUCCEEDED,
            at(2026, 8, 6, 10, 0), ci_ids=[1], cmdb_after=None)
    _change(session, person.id, None, "no CI", ChangeType.NORMAL, ChangeStatus.SUCCEEDED, at(2026, 8, 7, 10, 0),
            cmdb_after=None)
    session.commit()
    assert compliance_metrics(session, CONTRACT, start, end)["late_cmdb_updates"] == 2  # 24 h + 1 min, never


def test_the_quarter_bounds_are_in_the_operating_timezone_not_utc() -> None:
    start, _ = quarter_bounds(2026, 4, SH)
    assert start.astimezone(UTC) == datetime(2026, 9, 30, 16, 0, tzinfo=UTC)


def test_changes_count_from_the_quarters_first_instant_to_before_its_end_with_their_outage(
        session: Session) -> None:
    person = create_person(session, name="cm2", roles=[RoleKey.CHANGE_MANAGER], actor="test")
    session.flush()
    start, end = quarter_bounds(2026, 3, SH)
    for title, finished, outage in (("first instant", start, 10.125), ("last second", end - timedelta(seconds=1), 2.0),
                                    ("quarter before", start - timedelta(seconds=1), 100.0),
                                    ("next quarter", end, 100.0)):
        _change(session, person.id, None, title, ChangeType.NORMAL, ChangeStatus.SUCCEEDED, finished, outage=outage)
    session.commit()
    figures = change_metrics_for(session, CONTRACT, start, end)
    assert (figures["total"], figures["succeeded"], figures["outage_minutes"]) == (2, 2, 12.12)  # two decimals
    empty = change_metrics_for(session, CONTRACT, *quarter_bounds(2026, 1, SH))
    assert (empty["total"], empty["outage_minutes"], empty["success_rate"]) == (0, 0.0, None)
