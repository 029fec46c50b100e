"""A long write (an import) lets waiting writers (alerts) in between its transactions on SQLite."""

from __future__ import annotations

import threading
import time

import pytest

from models.core.db import get_engine, let_other_writers_in, serialized_writes


@pytest.mark.db
def test_alerts_written_during_a_long_import_wait_a_few_chunks_not_the_import(database: str) -> None:
    if get_engine().dialect.name != "sqlite":
        pytest.skip("PostgreSQL has no process-wide writer slot: writers never queue behind an import")
    chunks: list[int] = []
    started, finished = threading.Event(), threading.Event()

    def importer() -> None:
        for _ in range(300):
            with serialized_writes():
                started.set()
                sum(range(20_000))  # one chunk's ORM work, holding the GIL
                chunks.append(1)
            let_other_writers_in()
        finished.set()

    thread = threading.Thread(target=importer)
    thread.start()
    assert started.wait(30)
    waited = []  # chunks the importer wrote while each alert waited for the slot
    while not finished.is_set():
        before = len(chunks)
        with serialized_writes():
            waited.append(len(chunks) - before)
        time.sleep(0.005)  # the next alert arrives (a relative sleep: libfaketime shifts timed waits)
    thread.join(60)
    # Without the pause between chunks an alert waited 160-240 of the 300 chunks (measured).
    assert len(waited) > 10 and max(waited) <= 5, sorted(waited)[-5:]  # 0 idle; load may add a few
