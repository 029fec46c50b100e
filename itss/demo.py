"""Demo data: the e-government customer of seed 002, its hardware inventory and one person per role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session, select

from config.settings import get_settings
from itss.demo_estate import ensure_estate, plan_yaml
from itss.demo_history import load_demo_history, past_quarter
from models.changes.tables import ChangeWindow
from models.cmdb.service import create_ci
from models.cmdb.tables import CICreate, CIType, ConfigurationItem, Criticality
from models.contracts.service import create_contract
from models.contracts.tables import Contract, ContractCreate, ServiceCatalogEntry, TeamMemberSpec
from models.core.rows import stored_id
from models.directory.people import Organisation, OrgKind, Person
from models.directory.roles import RoleKey
from models.directory.service import create_person, issue_token
from models.inspection.plan import parse_yaml
from models.inspection.service import save_plan

ACTOR = "system:demo"
PROVIDER = "运维服务商 (demo provider)"
CUSTOMER = "市电子政务办公室 (demo customer)"
CONTRACT_CODE = "EGOV-2026"

# Seed 002 hardware list: racks 6-03 … 6-06. (name, type, vendor, model, rack, ip, criticality, tags)
INVENTORY: list[tuple[str, CIType, str, str, str, str, Criticality, list[str]]] = [
    ("app-srv-01", CIType.SERVER, "HP", "DL388 Gen9", "6-03", "127.16.3.11", Criticality.CORE, ["app"]),
    ("app-srv-02", CIType.SERVER, "HP", "DL388 Gen9", "6-03", "127.16.3.12", Criticality.CORE, ["app"]),
    ("web-srv-01", CIType.SERVER, "HP", "DL380 Gen9", "6-03", "127.16.3.21", Criticality.HIGH, ["web"]),
    ("db-srv-01", CIType.SERVER, "HP", "DL580 Gen9", "6-04", "127.16.4.11", Criticality.CORE, ["db"]),
    ("gis-srv-01", CIType.SERVER, "Sugon", "A420r-G", "6-04", "127.16.4.21", Criticality.HIGH, ["gis"]),
    ("virt-host-01", CIType.SERVER, "Sugon", "A840-G10", "6-04", "127.16.4.31", Criticality.CORE, ["virt"]),
    ("oa-srv-01", CIType.SERVER, "IBM", "X3650 M5", "6-05", "127.16.5.11", Criticality.HIGH, ["oa"]),
    ("mail-srv-01", CIType.SERVER, "IBM", "X3850 X6", "6-05", "127.16.5.21", Criticality.MEDIUM, ["mail"]),
    ("san-01", CIType.STORAGE, "IBM", "DS3512", "6-05", "127.16.5.101", Criticality.CORE, ["storage"]),
    ("nas-01", CIType.STORAGE, "IBM", "N3240", "6-05", "127.16.5.102", Criticality.HIGH, ["storage"]),
    ("core-sw-01", CIType.SWITCH, "H3C", "S7506E", "6-06", "127.16.0.1", Criticality.CORE, ["network"]),
    ("agg-sw-01", CIType.SWITCH, "H3C", "S5500-28C-EI", "6-06", "127.16.0.2", Criticality.HIGH, ["network"]),
    ("acc-sw-01", CIType.SWITCH, "H3C", "S5120-28P-SI", "6-06", "127.16.0.3", Criticality.MEDIUM, ["network"]),
    ("edge-rt-01", CIType.ROUTER, "H3C", "MSR36-20", "6-06", "127.16.0.254", Criticality.CORE, ["network"]),
    ("vpn-01", CIType.VPN_GATEWAY, "Hillstone", "SG-6000", "6-06", "127.16.0.250", Criticality.HIGH, ["security"]),
    ("fw-01", CIType.FIREWALL, "Sangfor", "AF-1520", "6-06", "127.16.0.249", Criticality.CORE, ["security"]),
    ("waf-01", CIType.SECURITY_DEVICE, "Sangfor", "WAF", "6-06", "127.16.0.248", Criticality.HIGH, ["security"]),
    ("ddos-01", CIType.SECURITY_DEVICE, "NSFOCUS", "ADS anti-DDoS", "6-06", "127.16.0.247",
     Criticality.HIGH, ["security"]),
    ("lb-01", CIType.LOAD_BALANCER, "Sangfor", "AD-1000", "6-06", "127.16.0.246", Criticality.CORE, ["network"]),
    ("ca-gw-01", CIType.SECURITY_DEVICE, "Koal", "CA gateway", "6-06", "127.16.0.245", Criticality.HIGH,
     ["security"]),
]

SERVICES = [
    ("INSPECT", "例行巡检 Routine inspection", "Daily and periodic checks of core equipment (seed 002 日检)."),
    ("INCIDENT", "故障处理 Incident handling", "7x24 response, on-site support and restoration per the SLA."),
    ("EMERGENCY", "应急响应 Emergency response", "Level I-III emergency plans, drills and summaries."),
    ("CHANGE", "变更与发布 Change and release", "Approved changes inside change windows, with rollback."),
    ("CONFIG", "配置管理 Configuration management", "The CMDB, updated within 24 h of every change."),
]

# One person per role: (login name, display name, role, organisation)
PEOPLE: list[tuple[str, str, RoleKey, str]] = [
    ("admin", "系统管理员", RoleKey.ADMIN, PROVIDER),
    ("desk", "服务台 王芳", RoleKey.SERVICE_DESK, PROVIDER),
    ("oncall", "驻场工程师 李强", RoleKey.ENGINEER, PROVIDER),
    ("support", "三线支持 赵磊", RoleKey.TECHNICAL_SUPPORT, PROVIDER),
    ("pm", "项目经理 陈静", RoleKey.PROJECT_MANAGER, PROVIDER),
    ("change", "变更负责人 周涛", RoleKey.CHANGE_MANAGER, PROVIDER),
    ("cab1", "CAB 孙伟", RoleKey.CAB_MEMBER, PROVIDER),
    ("cab2", "CAB 吴敏", RoleKey.CAB_MEMBER, PROVIDER),
    ("cab3", "CAB 郑浩", RoleKey.CAB_MEMBER, CUSTOMER),
    ("opsmgr", "运维管理部经理 冯雪", RoleKey.OPS_MANAGER, PROVIDER),
    ("customer", "需方接口人 刘洋", RoleKey.CUSTOMER_REP, CUSTOMER),
    ("leader", "公司主管领导 杨帆", RoleKey.LEADERSHIP, PROVIDER),
    ("customer-leader", "需方领导 何军", RoleKey.LEADERSHIP, CUSTOMER),
    ("slm", "服务级别经理 马丽", RoleKey.SERVICE_LEVEL_MANAGER, PROVIDER),
]


@dataclass
class DemoResult:
    """What `load_demo` did: the tokens it issued (empty when the data was already there)."""

    contract_id: int
    tokens: dict[str, tuple[str, str]]  # name -> (role, secret)
    created: bool


def _org(session: Session, name: str, kind: OrgKind) -> Organisation:
    org = session.exec(select(Organisation).where(Organisation.name == name)).first()
    if org is None:
        org = Organisation(name=name, kind=kind)
        session.add(org)
        session.flush()
    return org


def load_demo(session: Session) -> DemoResult:
    """Load the demo contract, inventory and people; a second call changes nothing."""
    existing = session.exec(select(Contract).where(Contract.code == CONTRACT_CODE)).first()
    if existing is not None:
        return DemoResult(contract_id=stored_id(existing), tokens={}, created=False)
    orgs = {PROVIDER: _org(session, PROVIDER, OrgKind.PROVIDER), CUSTOMER: _org(session, CUSTOMER, OrgKind.CUSTOMER)}
    tokens: dict[str, tuple[str, str]] = {}
    estate = ensure_estate(get_settings())  # the loopback peers the demo CIs point at, and the inbox
    team: list[TeamMemberSpec] = []
    for name, display, role, org in PEOPLE:
        person = session.exec(select(Person).where(Person.name == name)).first()
        if person is None:
            person = create_person(
                session, name=name, display_name=display, roles=[role], actor=ACTOR,
                organisation_id=orgs[org].id, email=f"{name}@demo.invalid",
                notify_urls=[estate.inbox_url(name)],  # their own channel: a box in the demo inbox
            )
            _, secret = issue_token(session, person_id=stored_id(person), actor=ACTOR, label="demo")
            tokens[name] = (role.value, secret)
        team.append(TeamMemberSpec(person_id=stored_id(person), role_key=role))
    ci_ids = []
    for name, ci_type, vendor, model, rack, ip, criticality, tags in INVENTORY:
        ci = session.exec(select(ConfigurationItem).where(ConfigurationItem.name == name)).first()
        if ci is None:
            ci = create_ci(session, actor=ACTOR, data=CICreate(
                name=name, ci_type=ci_type, vendor=vendor, model=model, rack=rack, ip=ip,
                criticality=criticality, tags=tags, hostname=name, location="机房 6F",
            ))
        ci_ids.append(stored_id(ci))
    for code, title, description in SERVICES:
        if session.exec(select(ServiceCatalogEntry).where(ServiceCatalogEntry.code == code)).first() is None:
            session.add(ServiceCatalogEntry(code=code, name=title, description=description))
    session.flush()
    # The contract covers the demo's past quarter and today, whatever today is (it must still work next year).
    today = datetime.now(get_settings().tz).date()
    starts_on, ends_on = date(past_quarter(today)[0], 1, 1), date(today.year, 12, 31)
    years = f"{starts_on.year}" if starts_on.year == ends_on.year else f"{starts_on.year}–{ends_on.year}"
    contract = create_contract(session, actor=ACTOR, data=ContractCreate(
        code=CONTRACT_CODE, name=f"电子政务办 IT 系统运维服务 {years}", customer_id=stored_id(orgs[CUSTOMER]),
        starts_on=starts_on, ends_on=ends_on,
        service_codes=[code for code, _, _ in SERVICES], ci_ids=ci_ids, team=team,
    ))
    template = (Path(__file__).parent / "demo_plans" / "egov_daily_core.yaml").read_text("utf-8")
    for spec in parse_yaml(plan_yaml(template, estate, get_settings())):
        save_plan(session, spec, actor=ACTOR)
    # Seed 002's habit: changes at night on working days; statutory holidays are frozen by default.
    session.add(ChangeWindow(name="weekday nights", weekdays=[1, 2, 3, 4, 5], start="22:00", end="06:00",
                             timezone="Asia/Shanghai"))
    # A past quarter of history (itss/demo_history.py), so the first review shows real figures and charts.
    load_demo_history(session, stored_id(contract), today, get_settings().tz)
    return DemoResult(contract_id=stored_id(contract), tokens=tokens, created=True)
