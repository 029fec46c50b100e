"""Quarterly review at scale: one quarter's figures and report over a large history, SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.review [--incidents 100000] [--results 1000000] [--changes 5000]
                                          [--databases sqlite postgresql] [--repeat 3]

Two years of history (2025-2026) spread evenly: incidents of four contracts (and some without one),
inspection runs of five daily plans with their results, changes, satisfaction scores, complaints and
risks. Timed: the figures of 2026 Q3 and of Q2 for the trends (what `compile-review` computes), then the
report (HTML with three charts, XLSX, Markdown). Each database runs in its own process; PostgreSQL gets a
throwaway database on 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=730)


def _chunks(rows, size=20_000):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def load(incidents: int, results: int, changes: int) -> int:
    """Write the history in bulk; returns the reviewed contract's id."""
    from sqlalchemy import insert
    from sqlmodel import Session

    from models.changes.tables import ChangeRequest
    from models.cmdb.tables import CIType, ConfigurationItem
    from models.contracts.tables import Contract
    from models.core.db import get_engine
    from models.directory.people import Organisation, OrgKind, Person
    from models.incidents.tables import Incident
    from models.inspection.tables import InspectionPlan, InspectionResult, InspectionRun
    from models.review.tables import Complaint, Risk, Satisfaction

    rng = random.Random(7)
    engine = get_engine()
    with Session(engine) as session:
        org = Organisation(name="bench customer", kind=OrgKind.CUSTOMER)
        person = Person(name="bench")
        session.add_all([org, person])
        session.flush()
        contracts = [Contract(code=f"C{i}", name=f"contract {i}", customer_id=org.id, starts_on=date(2025, 1, 1),
                              ends_on=date(2026, 12, 31)) for i in range(4)]
        cis = [ConfigurationItem(name=f"srv-{i:04d}", ci_type=CIType.SERVER) for i in range(500)]
        plans = [InspectionPlan(name=f"plan {i}", created_at=START, spec={
            "name": f"plan {i}", "cron": "0 9 * * *", "timezone": "Asia/Shanghai", "scope": {"names": ["srv-0000"]},
            "checks": [{"key": "tcp", "name": "tcp", "probe": "tcp", "params": {"port": 22}}]}) for i in range(5)]
        session.add_all(contracts + cis + plans)
        session.commit()
        contract_ids, ci_ids, plan_ids = [c.id for c in contracts], [c.id for c in cis], [p.id for p in plans]
        person_id = person.id

    def instant() -> datetime:
        return START + timedelta(seconds=rng.uniform(0, SPAN.total_seconds()))

    rows = []
    for i in range(incidents):
        reported = instant()
        ack = reported + timedelta(minutes=rng.expovariate(1 / 8))
        resolved = ack + timedelta(minutes=rng.expovariate(1 / 300)) if rng.random() < 0.9 else None
        major = rng.random() < 0.15
        rows.append(dict(
            title=f"incident {i}", symptom="", contract_id=rng.choice(contract_ids) if rng.random() < 0.97 else None,
            source="desk", alert_count=1, unknown_ci=False, unknown_ci_names=[], status="closed" if resolved else
            "acknowledged", level=rng.choice(["I", "II", "III"]) if major else "ordinary",
            fault_class="major" if major else "general", core_unavailable_pct=0, expected_recovery_hours=0,
            scope="local", business_function_lost=False, sla_applicable=rng.random() > 0.02, reported_at=reported,
            acknowledged_at=ack, on_site_at=ack + timedelta(minutes=rng.expovariate(1 / 50)) if rng.random() < 0.4
            else None, resolved_at=resolved, closed_at=resolved + timedelta(hours=2) if resolved else None,
            consented=rng.random() < 0.97, escalated=rng.random() < 0.1, reopened=0,
            response_due=reported + timedelta(minutes=10),
            on_site_due=ack + timedelta(hours=1 if major else 2),
            resolution_due=ack + timedelta(hours=4 if major else 24), breaches=[], warnings=[], dispatch_attempts=0))
    with engine.begin() as conn:
        for chunk in _chunks(rows):
            conn.execute(insert(Incident), chunk)
    incident_ids = list(range(1, incidents + 1))

    runs = [dict(plan_id=plan, trigger="schedule", status="completed", started_at=START + timedelta(days=d, hours=1),
                 targets=0, checks=0, counts={}, incidents_opened=[], report_md="")
            for d in range(730) for plan in plan_ids if rng.random() < 0.98]
    with engine.begin() as conn:
        for chunk in _chunks(runs):
            conn.execute(insert(InspectionRun), chunk)
    per_run = max(results // len(runs), 1)
    statuses = ["ok"] * 95 + ["warning"] * 3 + ["critical"] + ["error"]
    batch: list[dict] = []
    with engine.begin() as conn:
        for run_id, run in enumerate(runs, start=1):
            for _ in range(per_run):
                batch.append(dict(run_id=run_id, ci_id=rng.choice(ci_ids), check_key="tcp", probe="tcp",
                                  status=rng.choice(statuses), value=1.0, threshold="", message="",
                                  duration_ms=1.0, checked_at=run["started_at"]))
            if len(batch) >= 50_000:
                conn.execute(insert(InspectionResult), batch)
                batch = []
        if batch:
            conn.execute(insert(InspectionResult), batch)

    change_rows = []
    for i in range(changes):
        finished = instant()
        kind = rng.choice(["standard", "normal", "normal", "normal", "major", "emergency"])
        status = rng.choice(["succeeded"] * 8 + ["rolled_back", "rejected"])
        change_rows.append(dict(
            title=f"change {i}", description="", change_type=kind, risk="medium", impact="", characteristics=[],
            ci_ids=[rng.choice(ci_ids)], contract_id=rng.choice(contract_ids), planned_minutes=60,
            causes_outage=False, ci_updates={}, steps=[], verification=[], rollback=[], rollback_verification=[],
            test_evidence="", requested_by=person_id, status=status, approval_gate_ids=[],
            approved_at=None if kind == "standard" else finished - timedelta(hours=3), ran_outside_window=False,
            started_at=finished - timedelta(minutes=rng.uniform(10, 90)), finished_at=finished,
            outage_minutes=rng.choice([0, 0, 0, 5, 15]), cmdb_updated_at=finished + timedelta(hours=1),
            created_at=finished - timedelta(days=2)))
    with engine.begin() as conn:
        conn.execute(insert(ChangeRequest), change_rows)
        conn.execute(insert(Satisfaction), [dict(incident_id=i, contract_id=contract_ids[0], score=rng.randint(1, 5),
                                                 comment="", rated_at=instant())
                                            for i in rng.sample(incident_ids, min(20_000, incidents))])
        conn.execute(insert(Complaint), [dict(contract_id=rng.choice(contract_ids), subject="slow", detail="",
                                              received_at=instant(), status="open") for _ in range(500)])
        conn.execute(insert(Risk), [dict(contract_id=rng.choice(contract_ids), title=f"risk {i}",
                                         owner_role="project_manager", status="open", mitigation="",
                                         mitigation_due=(instant()).date(), created_at=START, updated_at=START)
                                    for i in range(200)])
    return contract_ids[0]


def one(url: str, args: argparse.Namespace) -> None:
    """Load and time in this process against `url`."""
    os.environ["ITSS_DATABASE_URL"] = url
    from sqlmodel import Session

    from config.settings import get_settings
    from models.contracts.tables import Contract
    from models.core.db import get_engine
    from models.core.migrate import upgrade
    from models.review.metrics import previous_quarter, quarter_bounds, quarter_metrics
    from models.review.targets import evaluate, trends
    from tasks.review_report import review_html, review_markdown, review_xlsx

    upgrade(url)
    started = time.perf_counter()
    contract_id = load(args.incidents, args.results, args.changes)
    print(f"  loaded {args.incidents:,} incidents, {args.results:,} inspection results, {args.changes:,} changes "
          f"in {time.perf_counter() - started:.1f} s", flush=True)
    zone, now = get_settings().tz, datetime(2027, 1, 1, tzinfo=UTC)
    for attempt in range(1, args.repeat + 1):
        with Session(get_engine()) as session:
            t0 = time.perf_counter()
            metrics = quarter_metrics(session, contract_id, 2026, 3, zone=zone, now=now)
            before = quarter_metrics(session, contract_id, *previous_quarter(2026, 3), zone=zone, now=now)
            t1 = time.perf_counter()
            start, end = quarter_bounds(2026, 3, zone)
            context = dict(contract=session.get(Contract, contract_id), period=metrics["period"], start=start,
                           end=end, compiled=now, metrics=metrics, targets=evaluate(metrics),
                           trends=trends(metrics, before), measures=[], risks=[])
            html = review_html(context, [("2026-04", 1), ("2026-05", 2), ("2026-06", 3), ("2026-07", 4),
                                         ("2026-08", 5), ("2026-09", 6)])
            xlsx, summary = review_xlsx(context), review_markdown(context)
            t2 = time.perf_counter()
        print(f"  run {attempt}: metrics {t1 - t0:.2f} s + report {t2 - t1:.2f} s = {t2 - t0:.2f} s "
              f"({metrics['incidents']['total']:,} incidents in the quarter, "
              f"{metrics['inspections']['executed']:,} inspection runs; HTML {len(html) // 1024} KiB, "
              f"XLSX {len(xlsx) // 1024} KiB, summary {len(summary)} chars)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--changes", type=int, default=5_000)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one, args)
        return
    common = [f"--incidents={args.incidents}", f"--results={args.results}", f"--changes={args.changes}",
              f"--repeat={args.repeat}"]
    for database in args.databases:
        work = tempfile.mkdtemp(prefix="itss-bench-review-")
        env = dict(os.environ, ITSS_DATA_DIR=work, PREFECT_LOGGING_LEVEL="WARNING")
        if database == "sqlite":
            url = f"sqlite:///{work}/itss.db"
        else:
            import psycopg

            name = f"itss_bench_review_{os.getpid()}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {name}")
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        print(f"{database}:", flush=True)
        try:
            subprocess.run([sys.executable, "-m", "benchmarks.review", f"--one={url}", *common], env=env, check=True)
        finally:
            if database != "sqlite":
                with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
