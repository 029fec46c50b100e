"""A daemon thread started on first use, and started again if it ever died (alert writer, processor)."""

from __future__ import annotations

import threading
from collections.abc import Callable


class DaemonThread:
    """Runs `target` on one named daemon thread per process."""

    def __init__(self, name: str, target: Callable[[], None]) -> None:
        self._name, self._target = name, target
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ensure(self) -> None:
        """Start the thread unless it is running."""
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._target, name=self._name, daemon=True)
                self._thread.start()

    def join(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the thread to end (its target must have been told to)."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
