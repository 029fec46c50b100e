"""Imports every table so SQLModel.metadata is complete (Alembic, test cleanup)."""

from sqlmodel import SQLModel

from models.alert_inbox import InboxAlert
from models.audit import AuditEvent
from models.changes import ChangeFreeze, ChangeRequest, ChangeReview, ChangeStep, ChangeWindow
from models.cmdb import CIChange, ConfigurationItem
from models.contracts import (
    Contract,
    ContractCI,
    ContractMember,
    ContractPhase,
    ContractService,
    ServiceCatalogEntry,
)
from models.drills.tables import DrillEvaluation, DrillPlan, DrillRun, DrillStep
from models.gates import ApprovalGate, ApprovalVote
from models.heartbeat import Heartbeat
from models.incidents import Document, Incident, IncidentCI, IncidentEvent, IncidentPause
from models.inspection import InspectionPlan, InspectionResult, InspectionRun
from models.knowledge.tables import KnowledgeArticle, KnowledgeLink
from models.outbox import Notification
from models.people import ApiToken, OnCallShift, Organisation, Person, Role, RoleMembership
from models.problems.tables import Problem
from models.review import (
    ArchiveAccess,
    Complaint,
    ImprovementMeasure,
    QuarterlyReview,
    Risk,
    Satisfaction,
)
from models.signin import PageSession, SigninLink
from models.sla import SlaPolicy, SlaPolicySet
from models.statutory import StatutoryDay, StatutoryYear

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
