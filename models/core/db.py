"""The project database: one engine per process, short sessions, UTC timestamps."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from config.settings import get_settings


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so API and flows can share it."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Writers queue on SQLite's own lock; the pool must not be the narrower queue (the API runs
        # 40 worker threads).
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=20, max_overflow=60)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# SQLite has one writer at a time. Forty API threads polling its busy handler form a convoy in
# which the lock holder waits for the GIL between statements; queueing writers here is fairer.
_sqlite_writer = threading.Lock()


@contextmanager
def serialized_writes() -> Iterator[None]:
    """Hold the process's SQLite writer slot for a write transaction (a no-op on PostgreSQL)."""
    if get_engine().dialect.name != "sqlite":
        yield
        return
    with _sqlite_writer:
        yield


def let_other_writers_in() -> None:
    """Between the transactions of a long write (an import), give waiting writers the SQLite slot."""
    # A thread that releases a threading.Lock and asks again at once often gets it back before a woken
    # waiter runs: without this pause alerts waited out much of an import (webhook p99 1.8 s measured).
    if get_engine().dialect.name == "sqlite":
        time.sleep(0.01)


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for the configured project database."""
    return make_engine(get_settings().resolved_database_url)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error (for tasks and the CLI)."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def begin_write(session: Session) -> None:
    """Open the session's transaction as a writer now (SQLite: BEGIN IMMEDIATE; PostgreSQL: as usual).

    Python's sqlite3 starts a transaction only before an INSERT/UPDATE/DELETE, so a SAVEPOINT issued
    before any of those is the outermost transaction and its RELEASE commits. An explicit BEGIN
    IMMEDIATE makes savepoints nest properly, and waits for the write lock (busy timeout) instead of
    failing later when an earlier read's snapshot turns out to be stale."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
