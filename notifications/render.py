"""Jinja2 templates: notifications (first line the title, the body after `---`) and Markdown documents."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateError

from config.settings import get_settings
from models.core.user_templates import local_time, user_environment


def _make_environment(*, autoescape: bool) -> Environment:
    # finalize: a missing figure reads as an em dash, never as Python's "None", in anything people read.
    env = Environment(loader=PackageLoader("notifications", "templates"), undefined=StrictUndefined,
                      autoescape=autoescape, trim_blocks=True, lstrip_blocks=True,
                      finalize=lambda value: "—" if value is None else value)
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
    """A whole Markdown document from `template` (without .md.j2), or from `source` when a team supplies one.

    A supplied `source` renders in the immutable sandbox; if it fails there (a refused attribute, a
    missing field), the built-in template renders instead, headed by a note saying why.
    """
    if source:
        try:
            return user_environment().from_string(source).render(**context)
        except TemplateError as exc:
            note = (f"> The plan's report template could not be used ({type(exc).__name__}: {exc}); "
                    "the default follows.\n\n")
            return note + _environment().get_template(f"{template}.md.j2").render(**context)
    return _environment().get_template(f"{template}.md.j2").render(**context)


def gate_link(gate_id: int) -> str:
    """The approval page of a gate, for people on phones."""
    return f"{get_settings().public_base_url.rstrip('/')}/ui/gates/{gate_id}"
