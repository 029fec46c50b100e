"""Quarterly review figures of the knowledge base, problems and drills."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from models.directory.people import Person
from models.drills.tables import DrillEvaluation, DrillPlan, DrillRun, DrillStatus, PlanStatus
from models.incidents.grading import ImpactFacts
from models.incidents.service import create_incident
from models.incidents.tables import Source
from models.knowledge.tables import ArticleStatus, KnowledgeArticle, KnowledgeLink
from models.problems.tables import Problem, ProblemStatus
from models.review.extra_metrics import extra_metrics
from models.review.metrics import quarter_bounds

Q2 = quarter_bounds(2026, 2, ZoneInfo("Asia/Shanghai"))
IN_Q2, BEFORE, AFTER = datetime(2026, 5, 10, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC)


def test_figures_count_within_the_quarter(session: Session, make_person) -> None:
    make_person("engineer-x")
    articles = [KnowledgeArticle(title=f"a{n}", status=ArticleStatus.PUBLISHED, published_at=at)
                for n, at in enumerate([BEFORE, IN_Q2, IN_Q2, AFTER])]
    articles.append(KnowledgeArticle(title="draft"))
    session.add_all(articles)
    session.flush()
    incident = create_incident(session, title="x", actor="t", source=Source.DESK, facts=ImpactFacts())
    session.add(KnowledgeLink(incident_id=incident.id, article_id=articles[0].id, solved=True, solved_at=IN_Q2))
    session.add_all([
        Problem(symptom_key="a", created_at=BEFORE, status=ProblemStatus.KNOWN_ERROR),
        Problem(symptom_key="b", created_at=IN_Q2, status=ProblemStatus.CLOSED, closed_at=IN_Q2, change_id=None),
        Problem(symptom_key="c", created_at=IN_Q2, status=ProblemStatus.INVESTIGATING),
        Problem(symptom_key="d", created_at=AFTER, status=ProblemStatus.LOGGED),
    ])
    plan = DrillPlan(name="p", scenario="s", emergency_plan="e", cron="0 10 15 6 *", status=PlanStatus.APPROVED)
    session.add(plan)
    session.flush()
    done = DrillRun(plan_id=plan.id, flow_run_id="a", status=DrillStatus.SIGNED_OFF, started_at=IN_Q2,
                    retain_until=AFTER)
    stopped = DrillRun(plan_id=plan.id, flow_run_id="b", status=DrillStatus.TERMINATED, started_at=IN_Q2,
                       retain_until=AFTER)
    session.add_all([done, stopped])
    session.flush()
    session.add(DrillEvaluation(run_id=done.id, objectives_met=True, response_minutes=5, sla_response_minutes=10,
                                evaluator_id=session.exec(select(Person.id)).first(), improvements=[{"measure": "m1", "done": False},
                                                              {"measure": "m2", "done": True}]))
    session.commit()

    figures = extra_metrics(session, *Q2)
    assert figures["knowledge"] == {"articles": 3, "threshold": 100, "threshold_met": False, "new": 2, "reused": 1,
                                    "uses": 1}
    assert figures["problems"] == {"open": 2, "known_errors": 1, "logged": 2, "resolved_by_changes": 0}
    assert figures["drills"] == {"planned": 1, "done": 1, "terminated": 1, "signed_off": 1, "findings_open": 1}
