"""SQLModel tables, services and pure ITSS domain rules, one folder per domain (no Prefect/FastAPI imports).

`core` is what every domain builds on; `tables` and `tenancy` sit above every domain (ARCHITECTURE.md).
"""

# Every table is registered as soon as anything of `models` is imported: foreign keys between domains
# (a gate to its contract) resolve at the first flush only when both tables are known, e.g. in a bare
# flow-run process that imported one service. (Done in the engine before; the engine is now in `core`,
# which imports no domain.)
import models.tables  # noqa: F401, E402
