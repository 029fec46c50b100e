"""The 10 mutations that survived the audit (issue 21), each applied by hand: its test must fail, then it is reverted.

Run: .venv/bin/python .ci/known_mutants.py [name prefix ...]; exits 1 if any survives."""
# ruff: noqa: E501  (each mutant quotes the exact source text it replaces)

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# (name, file, original text, mutated text, the tests that must catch it)
MUTANTS = [
    ('1 pause merge', 'models/sla/business_time.py',
     'merged[-1] = (merged[-1][0], max(merged[-1][1], end))',
     'merged[-1] = (merged[-1][0], end)',
     ['tests/models/sla/test_business_time_mutants.py']),
    # The review counts the verdicts the clocks stored (issue 15: one verdict per clock), so the audit's
    # review-side boundary mutants now apply to the one rule, models/sla_clock.verdict.
    ('2a met at deadline (<= to <)', 'models/sla/sla_clock.py',
     'if elapsed_minutes > target_minutes:',
     'if elapsed_minutes >= target_minutes:',
     ['tests/models/review/test_review_boundaries.py', 'tests/models/sla/test_sla_clock.py']),
    ('2b met one step past deadline', 'models/sla/sla_clock.py',
     'if elapsed_minutes > target_minutes:',
     'if elapsed_minutes > target_minutes + 1:',
     ['tests/models/review/test_review_boundaries.py', 'tests/models/sla/test_sla_clock.py']),
    ('3 CMDB one step past 24 h on time', 'models/review/metrics.py',
     'ChangeRequest.cmdb_updated_at) > 24 * 60))',
     'ChangeRequest.cmdb_updated_at) > 24 * 60 + 1))',
     ['tests/models/review/test_review_boundaries.py']),
    ('3b CMDB exactly 24 h late', 'models/review/metrics.py',
     'ChangeRequest.cmdb_updated_at) > 24 * 60))',
     'ChangeRequest.cmdb_updated_at) >= 24 * 60))',
     ['tests/models/review/test_review_boundaries.py']),
    ('4 quarter end moved', 'models/review/metrics.py',
     'end = datetime(year + quarter // 4, 3 * (quarter % 4) + 1, 1, tzinfo=zone)',
     'end = datetime(year + quarter // 4, 3 * (quarter % 4) + 1, 2, tzinfo=zone)',
     ['tests/models/review/test_review_boundaries.py']),
    ('5 never dead', 'notifications/sender.py',
     'dead = row.attempts >= MAX_ATTEMPTS',
     'dead = False',
     ['tests/notifications/test_outbox_rules.py']),
    ('6a backoff off by one (sender)', 'notifications/sender.py',
     'utcnow() + backoff(row.attempts)',
     'utcnow() + backoff(row.attempts + 1)',
     ['tests/notifications/test_outbox_rules.py']),
    ('6b backoff off by one (rule)', 'models/outbox/tables.py',
     '15 * 2 ** max(attempts - 1, 0)',
     '15 * 2 ** max(attempts, 0)',
     ['tests/notifications/test_outbox_rules.py']),
    ('7 steal a live claim', 'notifications/sender.py',
     '            or_(\n                col(Notification.status).in_([NotificationStatus.PENDING, NotificationStatus.FAILED]),\n                (col(Notification.status) == NotificationStatus.SENDING)\n                & (col(Notification.claimed_at) < now - STALE_CLAIM),\n            ),\n        )\n        .values',
     '            or_(\n                col(Notification.status).in_([NotificationStatus.PENDING, NotificationStatus.FAILED]),\n                (col(Notification.status) == NotificationStatus.SENDING),\n            ),\n        )\n        .values',
     ['tests/notifications/test_outbox_rules.py']),
    ('8 warning at 85 %', 'models/sla/sla_clock.py',
     'WARN_AT = 0.8 ',
     'WARN_AT = 0.85 ',
     ['tests/tasks/test_sweeper_promises.py']),
    ('9 sweeper drops SLA notices', 'tasks/sweeper.py',
     'for incident_id, measure in warned + breached:',
     'for incident_id, measure in breached:',
     ['tests/tasks/test_sweeper_promises.py']),
    ('10a sweeper never re-dispatches', 'tasks/sweeper.py',
     'return sum(1 for incident_id in ids if dispatch_incident(incident_id))',
     'return 0',
     ['tests/tasks/test_sweeper_promises.py']),
    ('10b stale claims never re-dispatched', 'models/incidents/dispatch.py',
     '| (col(Incident.flow_run_id).startswith(CLAIM_PREFIX) & (col(Incident.flow_run_id) < stale)))\n        .order_by(col(Incident.id))',
     '| (col(Incident.flow_run_id).startswith(CLAIM_PREFIX) & (col(Incident.flow_run_id) > stale)))\n        .order_by(col(Incident.id))',
     ['tests/tasks/test_sweeper_promises.py']),
]


def main(only: list[str]) -> int:
    survived = 0
    for name, path, old, new, tests in MUTANTS:
        if only and not any(name.startswith(prefix) for prefix in only):
            continue
        file = ROOT / path
        original = file.read_text()
        assert original.count(old) == 1, f"{name}: the original text is no longer in {path}; update this list"
        file.write_text(original.replace(old, new))
        try:
            run = subprocess.run([str(ROOT / ".venv/bin/pytest"), "-q", "-x", "-p", "no:cacheprovider", *tests],
                                 cwd=ROOT, capture_output=True, text=True)
        finally:
            file.write_text(original)
        failed = [line for line in run.stdout.splitlines() if line.startswith("FAILED")]
        survived += run.returncode == 0
        print(f"{name:40s} {'KILLED' if run.returncode else 'SURVIVED'} {failed[:1]}", flush=True)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
