"""The ITSS roles (ITSS_PROCESSES.md, seeds 000 §7.1, 002, 003 §4.2) plus the system admin."""

from __future__ import annotations

from enum import StrEnum


class RoleKey(StrEnum):
    """Stable role keys used in API checks, gates and notification routing."""

    SERVICE_DESK = "service_desk"
    ENGINEER = "engineer"
    TECHNICAL_SUPPORT = "technical_support"
    PROJECT_MANAGER = "project_manager"
    CHANGE_MANAGER = "change_manager"
    CAB_MEMBER = "cab_member"
    OPS_MANAGER = "ops_manager"
    CUSTOMER_REP = "customer_rep"
    LEADERSHIP = "leadership"
    SERVICE_LEVEL_MANAGER = "service_level_manager"
    ADMIN = "admin"


# key -> (中文, English name, what they do in flows)
ROLE_CATALOGUE: dict[RoleKey, tuple[str, str, str]] = {
    RoleKey.SERVICE_DESK: (
        "服务台", "Service desk",
        "Takes reports, records incidents, follows up and closes tickets after the requester confirms.",
    ),
    RoleKey.ENGINEER: (
        "工程师 / 驻场运维工程师", "Engineer (1st/2nd line, on call)",
        "Acknowledges and works incidents, runs inspections, executes changes.",
    ),
    RoleKey.TECHNICAL_SUPPORT: (
        "技术支持团队 / 三线", "Technical support (3rd line, vendors)",
        "Escalation target for hard faults.",
    ),
    RoleKey.PROJECT_MANAGER: (
        "项目经理", "Project manager",
        "Owns delivery, reviews deliverables, approves escalations, signs the quarterly check.",
    ),
    RoleKey.CHANGE_MANAGER: (
        "变更负责人", "Change manager", "Owns change requests and their implementation.",
    ),
    RoleKey.CAB_MEMBER: (
        "变更管理委员会", "CAB member", "Approves normal changes (quorum of the board).",
    ),
    RoleKey.OPS_MANAGER: (
        "运维管理部经理", "Ops management dept manager",
        "Approves access to archived deliverables and major changes.",
    ),
    RoleKey.CUSTOMER_REP: (
        "需方 / 项目接口人", "Customer representative",
        "Consents to closing support, reviews deliverables, rates satisfaction.",
    ),
    RoleKey.LEADERSHIP: (
        "公司主管领导 / 双方领导", "Leadership",
        "Approves major and emergency changes (ECAB), receives Level I/II alerts.",
    ),
    RoleKey.SERVICE_LEVEL_MANAGER: (
        "服务级别经理", "Service level manager", "Owns SLAs, runs the SLA review.",
    ),
    RoleKey.ADMIN: (
        "系统管理员", "System administrator", "Manages people, roles and API tokens.",
    ),
}


def parse_role(value: str) -> RoleKey:
    """A RoleKey from its key, or a ValueError that lists the valid keys."""
    try:
        return RoleKey(value)
    except ValueError:
        valid = ", ".join(r.value for r in RoleKey)
        raise ValueError(f"unknown role {value!r}; valid roles: {valid}") from None
