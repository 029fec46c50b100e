"""How long `itss up --demo` takes to answer, to be ready, and to stop, on a fresh data dir each time.

    .venv/bin/python -m benchmarks.startup [--rounds 3]

Each round starts `itss up --demo` on free loopback ports with its own data dir and prints the seconds
from the command to: the Prefect UI answering, the API's /health answering with the database ok, the
demo tokens printed (seeded and ready), the first completed sweep; then Ctrl-C and the seconds until
`itss up` has exited. The goal the README states: everything answers within 90 s on a small machine.
(tests/itss/test_up.py checks the behaviour with generous deadlines; the time is measured here.)
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tests.support.net import free_port
from tests.support.system import wait_until

ITSS = str(Path(sys.executable).parent / "itss")


def _first_ok(url: str, started: float, check=lambda r: True) -> float:
    """Seconds from `started` until `url` answers 200 and passes `check`."""
    wait_until(lambda: (r := httpx.get(url, timeout=2)).status_code == 200 and check(r), timeout=600,
               what=url, interval=0.2)
    return time.monotonic() - started


def _swept(response: httpx.Response) -> bool:
    return bool(response.json().get("components", {}).get("sweeper", {}).get("last_completed_at"))


def one_round() -> dict[str, float]:
    """Start, time each milestone, stop; the seconds of each."""
    work = Path(tempfile.mkdtemp(prefix="itss-bench-startup-"))
    api, prefect = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ITSS_"))}
    env.update(ITSS_DATA_DIR=str(work / "data"), ITSS_API_PORT=str(api), ITSS_PREFECT_PORT=str(prefect))
    started = time.monotonic()
    proc = subprocess.Popen([ITSS, "up", "--demo"], env=env, cwd=work, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    ready: dict[str, float] = {}

    def read_output() -> None:  # the tokens line says the demo is seeded; keep draining the pipe after it
        for line in proc.stdout:
            if "Ctrl-C" in line and "tokens" not in ready:
                ready["tokens"] = time.monotonic() - started

    threading.Thread(target=read_output, daemon=True).start()
    try:
        figures = {"ui": _first_ok(f"http://127.0.0.1:{prefect}/", started),
                   "health": _first_ok(f"http://127.0.0.1:{api}/health", started,
                                       lambda r: r.json().get("database") == "ok")}
        wait_until(lambda: "tokens" in ready, timeout=600, what="the demo tokens printed")
        figures["tokens"] = ready["tokens"]
        figures["sweep"] = _first_ok(f"http://127.0.0.1:{api}/health", started, _swept)
    finally:
        stopping = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=300)
    figures["stop"] = time.monotonic() - stopping
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds = [one_round() for _ in range(args.rounds)]
    print(f"itss up --demo, {args.rounds} rounds, load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{'milestone':<36} {'median':>8} {'max':>8}")
    names = {"ui": "Prefect UI answers", "health": "API /health answers (database ok)",
             "tokens": "demo seeded, tokens printed", "sweep": "first sweep completed",
             "stop": "Ctrl-C to exited"}
    for key, label in names.items():
        values = [r[key] for r in rounds]
        print(f"{label:<36} {statistics.median(values):>7.1f}s {max(values):>7.1f}s")


if __name__ == "__main__":
    main()
