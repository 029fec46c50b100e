"""SQLModel tables, the database engine, and pure ITSS domain rules (no Prefect/FastAPI imports)."""
