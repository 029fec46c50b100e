"""Reference data every installation has: the ITSS roles and the default SLA policy set."""

from __future__ import annotations

from sqlmodel import Session, col, select

from models.core.rows import id_of, stored_id
from models.directory.people import Role
from models.directory.roles import ROLE_CATALOGUE
from models.sla.policies import DEFAULT_POLICY_SET, DEFAULT_TARGETS, SlaPolicy, SlaPolicySet


def ensure_reference_data(session: Session) -> None:
    """Upsert the role catalogue and create the default SLA set if missing (idempotent)."""
    for key, (name_zh, name_en, description) in ROLE_CATALOGUE.items():
        role = session.get(Role, key.value)
        if role is None:
            session.add(Role(key=key.value, name_zh=name_zh, name_en=name_en, description=description))
        else:
            role.name_zh, role.name_en, role.description = name_zh, name_en, description
    default_set = session.exec(
        select(SlaPolicySet).where(SlaPolicySet.name == DEFAULT_POLICY_SET)
    ).first()
    if default_set is None:
        default_set = SlaPolicySet(
            name=DEFAULT_POLICY_SET,
            description="Seed 002 SLA table: response 10 min 7x24; on-site 1 h (major, 7x24) "
            "or 2 h (general, 5x8); resolution 4 h (major) or 24 h (general).",
        )
        session.add(default_set)
        session.flush()
        for (fault_class, measure), (minutes, calendar) in DEFAULT_TARGETS.items():
            session.add(
                SlaPolicy(
                    policy_set_id=stored_id(default_set),
                    fault_class=fault_class,
                    measure=measure,
                    target_minutes=minutes,
                    calendar=calendar,
                )
            )
    session.flush()


def default_policy_set_id(session: Session) -> int:
    """The id of the seed-002 default SLA policy set."""
    found = session.exec(select(id_of(SlaPolicySet)).where(col(SlaPolicySet.name) == DEFAULT_POLICY_SET)).one()
    return int(found)
