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
from models.gates import ApprovalGate, ApprovalVote
from models.incidents import Document, Incident, IncidentCI, IncidentEvent, IncidentPause, Problem
from models.inspection import InspectionPlan, InspectionResult, InspectionRun
from models.outbox import Notification
from models.people import ApiToken, OnCallShift, Organisation, Person, Role, RoleMembership
from models.review import (
    ArchiveAccess,
    Complaint,
    ImprovementMeasure,
    QuarterlyReview,
    Risk,
    Satisfaction,
)
from models.sla import SlaPolicy, SlaPolicySet

metadata = SQLModel.metadata

__all__ = [
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
    "Incident",
    "IncidentCI",
    "IncidentEvent",
    "IncidentPause",
    "InspectionPlan",
    "InspectionResult",
    "InspectionRun",
    "Notification",
    "OnCallShift",
    "Organisation",
    "Person",
    "Problem",
    "Role",
    "RoleMembership",
    "ServiceCatalogEntry",
    "SlaPolicy",
    "SlaPolicySet",
    "metadata",
]
