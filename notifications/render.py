"""Jinja2 templates: notifications (first line the title, the body after `---`) and Markdown documents."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateSyntaxError

from itss.settings import get_settings


def local_time(value: datetime | None, *, zone: bool = True) -> str:
    """An instant in the operating timezone, as people read it ("—" for none)."""
    if value is None:
        return "—"
    settings = get_settings()
    text = value.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    return f"{text} ({settings.timezone})" if zone else text


def _make_environment(*, autoescape: bool) -> Environment:
    env = Environment(loader=PackageLoader("notifications", "templates"), undefined=StrictUndefined,
                      autoescape=autoescape, trim_blocks=True, lstrip_blocks=True)
    env.filters["local"] = local_time
    return env


@lru_cache
def _environment() -> Environment:
    return _make_environment(autoescape=False)  # Markdown and plain text: nothing to escape


@lru_cache
def _html_environment() -> Environment:
    # HTML pages escape every value; only what a template marks `|safe` (our own SVG charts) is not.
    return _make_environment(autoescape=True)


def render_html(template: str, **context: Any) -> str:
    """A whole HTML page from `template` (without .html.j2), every value escaped."""
    return _html_environment().get_template(f"{template}.html.j2").render(**context)


def render(template: str, **context: Any) -> tuple[str, str]:
    """Render `template` (without .md.j2) to (title, body)."""
    text = _environment().get_template(f"{template}.md.j2").render(**context)
    title, _, body = text.partition("\n---\n")
    return title.strip(), body.strip()


def render_document(template: str, source: str | None = None, **context: Any) -> str:
    """A whole Markdown document from `template` (without .md.j2), or from `source` when a team supplies one."""
    env = _environment()
    compiled = env.from_string(source) if source else env.get_template(f"{template}.md.j2")
    return compiled.render(**context)


def check_template(source: str) -> None:
    """Raise ValueError naming the line when `source` is not a valid Jinja2 template."""
    try:
        _environment().parse(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template syntax error on line {exc.lineno}: {exc.message}") from None


def gate_link(gate_id: int) -> str:
    """The approval page of a gate, for people on phones."""
    return f"{get_settings().public_base_url.rstrip('/')}/ui/gates/{gate_id}"
