"""The `itss` command: run the system, load demo data, manage people and the database."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import select

from itss.settings import get_settings
from models.db import session_scope
from models.directory import DuplicateError, create_person, issue_token
from models.migrate import upgrade
from models.people import Person
from models.reference import ensure_reference_data
from models.roles import RoleKey, parse_role

app = typer.Typer(help="ITSS process orchestrator.", no_args_is_help=True, add_completion=False)
user_app = typer.Typer(help="People and their API tokens.", no_args_is_help=True)
db_app = typer.Typer(help="The project database.", no_args_is_help=True)
app.add_typer(user_app, name="user")
schedules_app = typer.Typer(help="Inspection plans' schedules in Prefect.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(schedules_app, name="schedules")
console = Console()


def prepare_database() -> None:
    """Migrate to head and upsert reference data (roles, default SLA set)."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    with session_scope() as session:
        ensure_reference_data(session)


def _print_tokens(tokens: dict[str, tuple[str, str]]) -> None:
    table = Table(title="Demo API tokens (shown once — keep them)")
    table.add_column("person")
    table.add_column("role")
    table.add_column("token", overflow="fold", no_wrap=False)  # never truncate a secret
    for name, (role, secret) in tokens.items():
        table.add_row(name, role, secret)
    console.print(table)


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
    """Run everything: Prefect server (unless PREFECT_API_URL is set), API and deployment runner."""
    from itss import supervisor

    settings = get_settings()
    prepare_database()
    tokens = _load_demo() if with_demo else {}

    def ready(ui_url: str, api_url: str) -> None:
        console.print(f"[bold green]Prefect UI[/]  {ui_url}")
        console.print(f"[bold green]API docs[/]    {api_url}/docs")
        console.print(f"[bold green]Approvals[/]   {api_url}/ui")
        if tokens:
            _print_tokens(tokens)
        console.print("Press Ctrl-C to stop.")

    raise typer.Exit(supervisor.run(settings, console, ready))


@app.command()
def serve(
    entrypoint: Annotated[str | None, typer.Option(help="Serve only this flow, e.g. flows.x:x.")] = None,
) -> None:
    """Serve every deployment of prefect.yaml with its schedules (what `itss up` runs)."""
    from itss.deployments import serve_all, serve_entrypoint

    if entrypoint:
        serve_entrypoint(entrypoint)
    else:
        serve_all()


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
            _, secret = issue_token(session, person_id=person.id, actor="cli")
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
        _, secret = issue_token(session, person_id=person.id, actor="cli", label=label)
    console.print(secret, soft_wrap=True)


if __name__ == "__main__":
    app()
