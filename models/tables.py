"""Imports every table so SQLModel.metadata is complete (Alembic, test cleanup)."""

from sqlmodel import SQLModel

from models.changes.tables import ChangeFreeze, ChangeRequest, ChangeReview, ChangeStep, ChangeWindow
from models.cmdb.tables import CIChange, ConfigurationItem
from models.contracts.tables import (
    Contract,
    ContractCI,
    ContractMember,
    ContractPhase,
    ContractService,
    ServiceCatalogEntry,
)
from models.core.audit import AuditEvent
from models.core.heartbeat import Heartbeat
from models.directory.people import ApiToken, OnCallShift, Organisation, Person, Role, RoleMembership
from models.directory.signin import PageSession, SigninLink
from models.drills.tables import DrillEvaluation, DrillPlan, DrillRun, DrillStep
from models.gates.tables import ApprovalGate, ApprovalVote
from models.incidents.alert_inbox import InboxAlert
from models.incidents.tables import Document, Incident, IncidentCI, IncidentEvent, IncidentPause
from models.inspection.tables import InspectionPlan, InspectionResult, InspectionRun
from models.knowledge.tables import KnowledgeArticle, KnowledgeLink
from models.outbox.tables import Notification
from models.problems.tables import Problem
from models.review.tables import (
    ArchiveAccess,
    Complaint,
    ImprovementMeasure,
    QuarterlyReview,
    Risk,
    Satisfaction,
)
from models.sla.policies import SlaPolicy, SlaPolicySet
from models.sla.statutory import StatutoryDay, StatutoryYear

metadata = SQLModel.metadata

__all__ = [
    "StatutoryDay",
    "StatutoryYear",
    "Heartbeat",
    "ArchiveAccess",
    "Complaint",
    "ImprovementMeasure",
    "QuarterlyReview",
    "Risk",
    "Satisfaction",
    "ApiToken",
    "ApprovalGate",
    "ApprovalVote",
    "AuditEvent",
    "InboxAlert",
    "CIChange",
    "ChangeFreeze",
    "ChangeRequest",
    "ChangeReview",
    "ChangeStep",
    "ChangeWindow",
    "ConfigurationItem",
    "Contract",
    "ContractCI",
    "ContractMember",
    "ContractPhase",
    "ContractService",
    "Document",
    "DrillEvaluation",
    "DrillPlan",
    "DrillRun",
    "DrillStep",
    "Incident",
    "IncidentCI",
    "IncidentEvent",
    "IncidentPause",
    "InspectionPlan",
    "InspectionResult",
    "InspectionRun",
    "KnowledgeArticle",
    "KnowledgeLink",
    "Notification",
    "OnCallShift",
    "PageSession",
    "Organisation",
    "Person",
    "Problem",
    "Role",
    "RoleMembership",
    "ServiceCatalogEntry",
    "SigninLink",
    "SlaPolicy",
    "SlaPolicySet",
    "metadata",
]
