"""The CMDB (seed 002 "配置管理"): configuration items and their change log (`tables`), and the services that
write both with the audit log (`service`)."""

# The folder's public names; inside models/ import from the module (tables, service) itself.
from models.cmdb.service import (  # noqa: F401
    create_ci,
    delete_ci,
    update_ci,
)
from models.cmdb.tables import (  # noqa: F401
    CIBase,
    CIChange,
    CIChangePublic,
    CICreate,
    CIPublic,
    CIType,
    CIUpdate,
    ConfigurationItem,
    Criticality,
)

__all__ = [
    "CIBase",
    "CIChange",
    "CIChangePublic",
    "CICreate",
    "CIPublic",
    "CIType",
    "CIUpdate",
    "ConfigurationItem",
    "Criticality",
    "create_ci",
    "delete_ci",
    "update_ci",
]
