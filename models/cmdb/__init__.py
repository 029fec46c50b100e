"""The CMDB (seed 002 "配置管理"): configuration items and their change log (`tables`), and the services that
write both with the audit log (`service`)."""
