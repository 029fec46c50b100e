"""Secrets in hand and at rest on the real `itss up`: Prefect takes no call without its credentials (everything
`itss up` starts has them); the data directory and what holds secrets are the owner's alone."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import httpx

from tests.support.system import BIN, start_system, wait_until


def test_prefect_refuses_anonymous_calls_secrets_are_private_and_flows_still_run(tmp_path: Path) -> None:
    system = start_system(tmp_path)
    try:
        auth_file = system.data_dir / "secrets" / "prefect-auth"
        assert stat.S_IMODE(auth_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(auth_file.parent.stat().st_mode) == 0o700
        user, password = auth_file.read_text().strip().split(":", 1)
        data = system.data_dir
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        private = [data / "itss.db", data / "gate_secret", data / "secrets" / "encryption-key",
                   *(data / "logs").glob("*.log")]
        assert len(private) >= 6, private  # database, gate secret, key, the three children's logs
        modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in private}
        assert set(modes.values()) == {"0o600"}, modes
        assert user and len(password) >= 32

        # C2 replayed: the calls that rewrote a deployment and started runs now answer 401.
        api = system.prefect_api
        anonymous = httpx.post(f"{api}/deployments/filter", json={}, timeout=30)
        assert anonymous.status_code == 401, anonymous.text
        wrong = httpx.post(f"{api}/deployments/filter", json={}, auth=(user, "guess"), timeout=30)
        assert wrong.status_code == 401
        assert httpx.delete(f"{api}/deployments/00000000-0000-0000-0000-000000000000", timeout=30).status_code == 401
        # The UI asks for the same string (Prefect's login prompt).
        ui_settings = httpx.get(api.removesuffix("/api") + "/ui-settings", timeout=30).json()
        assert ui_settings["auth"] == "BASIC"

        # The runner (a child of `itss up`) registered its deployments with the credentials.
        def deployments() -> list[str]:
            found = httpx.post(f"{api}/deployments/filter", json={}, auth=(user, password), timeout=30)
            assert found.status_code == 200, found.text
            return [d["name"] for d in found.json()]

        assert "quarterly_review" in wait_until(lambda: "quarterly_review" in deployments() and deployments(),
                                                timeout=180, what="the runner to register its deployments")

        # The API starts a run (as a client with the credentials) and the runner picks it up.
        org = system.post("/organisations", json={"name": "Customer", "kind": "customer"}).json()["id"]
        contract = system.post("/contracts", who="pm", json={
            "code": "C1", "name": "ops", "customer_id": org, "starts_on": "2026-01-01", "ends_on": "2026-12-31"})
        assert contract.status_code == 201, contract.text
        started = system.post("/reviews", who="pm", json={"contract_id": contract.json()["id"], "year": 2026,
                                                          "quarter": 3})
        assert started.status_code == 202, started.text
        run_id = started.json()["flow_run_id"]

        def picked_up() -> str | None:
            state = httpx.get(f"{api}/flow_runs/{run_id}", auth=(user, password), timeout=30).json()["state_type"]
            return state if state not in ("SCHEDULED", "PENDING") else None

        state = wait_until(picked_up, timeout=240, what="the runner to pick up the quarterly review run")
        assert state in ("RUNNING", "PAUSED", "COMPLETED"), (state, system.log("runner")[-3000:])

        # A CLI command run beside `itss up` (another shell, no credentials in its environment) reads them.
        env = {k: v for k, v in system.env.items() if k != "PREFECT_API_AUTH_STRING"}
        synced = subprocess.run([str(BIN / "itss"), "schedules", "sync"], env=env, capture_output=True, text=True,
                                timeout=300, cwd=tmp_path)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert "created" in synced.stdout
    finally:
        assert system.stop() == 0
