"""The `itss` command: run the system, load demo data, manage people and the database."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from sqlmodel import select

from config.settings import Settings, get_settings
from models.core.db import session_scope
from models.core.migrate import upgrade
from models.core.rows import stored_id
from models.directory.people import Person
from models.directory.reference import ensure_reference_data
from models.directory.roles import RoleKey, parse_role
from models.directory.service import DuplicateError, create_person, issue_token

app = typer.Typer(help="ITSS process orchestrator.", no_args_is_help=True, add_completion=False)
user_app = typer.Typer(help="People and their API tokens.", no_args_is_help=True)
db_app = typer.Typer(help="The project database.", no_args_is_help=True)
app.add_typer(user_app, name="user")
schedules_app = typer.Typer(help="Inspection plans' schedules in Prefect.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(schedules_app, name="schedules")
console = Console()


@app.callback()
def _main() -> None:
    """ITSS process orchestrator."""
    from itss import prefect_auth

    # Everything itss and its children create (database, logs, Prefect's files, secrets) is the owner's alone.
    os.umask(0o077)
    # Commands beside `itss up` (schedules sync, serve) talk to its Prefect server: give them its credentials.
    prefect_auth.load_client_auth(get_settings())


def _secure(settings: Settings) -> None:
    """Data dir 0700 with its files 0600; the gate secret and the encryption key exist before any child starts."""
    from config.secret_files import secure_data_dir
    from models.core.crypto import fernet
    from models.gates.service import gate_secret

    secure_data_dir(settings.data_dir.resolve())
    gate_secret()
    fernet()


def prepare_database() -> None:
    """Migrate to head and upsert reference data (roles, default SLA set)."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    with session_scope() as session:
        ensure_reference_data(session)


def _print_tokens(tokens: dict[str, tuple[str, str]]) -> None:
    """Print the demo tokens one per line, unwrapped, and keep them in a 0600 file of the data dir."""
    path = get_settings().data_dir / "demo-tokens.txt"
    lines = [f"{name} {role} {secret}" for name, (role, secret) in tokens.items()]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    console.print(f"Demo API tokens (person, role, token; also in {path.resolve()}, mode 0600):")
    width = max(len(name) for name in tokens)
    for name, (role, secret) in tokens.items():
        # soft_wrap: a token is never folded over two lines, whatever the terminal's width
        console.print(f"  {name:<{width}}  {role:<22}  {secret}", soft_wrap=True, highlight=False)


def _load_demo() -> dict[str, tuple[str, str]]:
    from itss.demo import load_demo

    with session_scope() as session:
        result = load_demo(session)
    if not result.created:
        console.print("Demo data already loaded (tokens were shown then; `itss user token NAME` issues new ones).")
    return result.tokens


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations up to head and refresh reference data."""
    prepare_database()
    console.print(f"Database at head: {_redacted(get_settings().resolved_database_url)}")


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def demo() -> None:
    """Load the demo contract, inventory and one person per role (idempotent)."""
    prepare_database()
    tokens = _load_demo()
    if tokens:
        _print_tokens(tokens)


@app.command()
def up(
    with_demo: Annotated[bool, typer.Option("--demo", help="Load demo data first.")] = False,
) -> None:
    """Run everything: Prefect server, API and deployment runner; with PREFECT_API_URL set, the API only
    beside that server's workers (or a refusal saying what to run)."""
    from itss import supervisor

    settings = get_settings()
    prepare_database()
    _secure(settings)
    tokens = _load_demo() if with_demo else {}

    def ready(ui_url: str, api_url: str) -> None:
        console.print(f"[bold green]Prefect UI[/]  {ui_url}")
        console.print(f"[bold green]API docs[/]    {api_url}/docs")
        console.print(f"[bold green]Approvals[/]   {api_url}/ui")
        if tokens:
            _print_tokens(tokens)
        console.print("Press Ctrl-C to stop.")

    raise typer.Exit(supervisor.run(settings, console, ready))


@app.command("demo-estate", hidden=True)
def demo_estate() -> None:
    """Run the demo's simulated estate and notification inbox on loopback (what `itss up` starts for a demo)."""
    from itss.demo_estate import run_estate

    run_estate(get_settings())


@app.command()
def deploy(
    pool: Annotated[str, typer.Option(help="The process work pool the workers poll; created if missing.")] = "itss",
    concurrency_limit: Annotated[int | None, typer.Option(
        help="At most this many flow runs of the pool at once, over all workers (also sets an existing pool's).",
        min=1)] = None,
) -> None:
    """Apply every deployment of prefect.yaml to a work pool, with the inspection plans' schedules
    (run on one host after each upgrade; workers on any host with this package run them)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    from itss.deploy import DeployError, apply

    if not PREFECT_API_URL.value():
        console.print("[red]error:[/] PREFECT_API_URL is not set; point it at the shared Prefect server, "
                      "e.g. PREFECT_API_URL=https://prefect.example:4200/api")
        raise typer.Exit(2)
    prepare_database()  # the plans' schedules come from the project database
    try:
        with get_client(sync_client=True) as client:
            applied = apply(client, pool, concurrency_limit)
    except DeployError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"Work pool {applied.pool!r} {'created' if applied.pool_created else 'exists'}; "
                  f"applied {len(applied.deployments)} deployments ({', '.join(applied.deployments)}) "
                  f"with {applied.plan_schedules} inspection-plan schedule(s).")


@app.command("api")
def api_command(
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.", min=1)] = 1,
    host: Annotated[str | None, typer.Option(help="Listen address; default ITSS_API_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port; default ITSS_API_PORT.")] = None,
) -> None:
    """Run only the API (production: behind a TLS reverse proxy, with workers running the flows)."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        console.print("[red]error:[/] PREFECT_API_URL is not set; the API starts flow runs on the Prefect server "
                      "it names (`itss up` runs a local one instead)")
        raise typer.Exit(2)
    settings = get_settings()
    # no migration here: several API hosts start at once; `itss db upgrade` runs first, once
    argv = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", host or settings.api_host,
            "--port", str(port or settings.api_port), "--workers", str(workers), "--no-access-log",
            "--proxy-headers"]
    os.execv(sys.executable, argv)


@app.command()
def serve(
    entrypoint: Annotated[str | None, typer.Option(help="Serve only this flow, e.g. flows.x:x.")] = None,
) -> None:
    """Serve every deployment of prefect.yaml with its schedules (what `itss up` runs)."""
    from itss.deployments import serve_all, serve_entrypoint

    if entrypoint:
        serve_entrypoint(entrypoint)
    else:
        serve_all(limit=get_settings().runner_limit)


@app.command()
def status(
    url: Annotated[str | None, typer.Option(help="The API's base URL; default: this host's configured API.")] = None,
) -> None:
    """Show the system's pulse: database, Prefect, the last sweep, the outbox, runs that should be alive."""
    import httpx
    from rich.table import Table

    settings = get_settings()
    base = (url or f"http://{settings.api_host}:{settings.api_port}").rstrip("/")
    try:
        response = httpx.get(f"{base}/health", timeout=10)
    except httpx.HTTPError as exc:
        console.print(f"[red]The API at {base} does not answer ({type(exc).__name__}); is `itss up` running?[/]")
        raise typer.Exit(2) from None
    pulse = response.json()
    colour = {"ok": "green", "starting": "yellow"}.get(pulse.get("status", ""), "red")
    console.print(f"System: [bold {colour}]{pulse.get('status')}[/] ({base})")
    table = Table("component", "state", "detail")
    for name, info in (pulse.get("components") or {}).items():
        info = dict(info)
        state = str(info.pop("status", "")) or "—"
        table.add_row(name, state, ", ".join(f"{k}={v}" for k, v in info.items() if v not in (None, [], "")) or "—")
    console.print(table)
    for reason in pulse.get("reasons") or []:
        console.print(f"[{colour}]• {reason}[/]")
    raise typer.Exit(0 if pulse.get("status") in ("ok", "starting") else 1)


@schedules_app.command("sync")
def schedules_sync() -> None:
    """Give each active inspection plan its cron schedule on the routine_inspection deployment
    (after `prefect deploy`, which replaces a deployment's schedules)."""
    from itss import plan_schedules

    with session_scope() as session:
        counts = plan_schedules.sync(session)
    if counts is None:
        console.print(f"[red]No {plan_schedules.DEPLOYMENT} deployment on the Prefect server; deploy it first.[/red]")
        raise typer.Exit(1)
    console.print(", ".join(f"{n} {what}" for what, n in counts.items()))


@user_app.command("add")
def user_add(
    name: str,
    role: Annotated[list[str], typer.Option("--role", "-r", help="An ITSS role key; repeatable.")],
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    display_name: Annotated[str | None, typer.Option(help="Name shown to others.")] = None,
) -> None:
    """Add a person with roles and print their first API token."""
    try:
        roles: list[RoleKey] = [parse_role(r) for r in role]
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    prepare_database()
    try:
        with session_scope() as session:
            person = create_person(session, name=name, roles=roles, actor="cli", email=email,
                                   display_name=display_name)
            _, secret = issue_token(session, person_id=stored_id(person), actor="cli")
    except DuplicateError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"Added {name} ({', '.join(r.value for r in roles)}). API token (shown once):")
    console.print(secret, soft_wrap=True)


@user_app.command("token")
def user_token(name: str, label: str = "cli") -> None:
    """Issue another API token for an existing person."""
    prepare_database()
    with session_scope() as session:
        person = session.exec(select(Person).where(Person.name == name)).first()
        if person is None:
            console.print(f"[red]error:[/] no person named {name!r}; add them with `itss user add`")
            raise typer.Exit(1)
        _, secret = issue_token(session, person_id=stored_id(person), actor="cli", label=label)
    console.print(secret, soft_wrap=True)


if __name__ == "__main__":
    app()
