"""Jinja2 templates: notifications (first line the title, the body after `---`) and Markdown documents."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from config.settings import get_settings


def local_time(value: datetime | None, *, zone: bool = True) -> str:
    """An instant in the operating timezone, as people read it ("—" for none)."""
    if value is None:
        return "—"
    settings = get_settings()
    text = value.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    return f"{text} ({settings.timezone})" if zone else text


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


@lru_cache
def _user_environment() -> ImmutableSandboxedEnvironment:
    # Templates that people type (an inspection plan's report) are data, not code: the immutable
    # sandbox refuses private attributes (`cycler.__init__.__globals__`), unsafe callables and any
    # mutation of the values it is given. No loader: a user template cannot include ours or files.
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True,
                                        lstrip_blocks=True)
    env.filters["local"] = local_time
    return env


def render_document(template: str, source: str | None = None, **context: Any) -> str:
    """A whole Markdown document from `template` (without .md.j2), or from `source` when a team supplies one.

    A supplied `source` renders in the immutable sandbox; if it fails there (a refused attribute, a
    missing field), the built-in template renders instead, headed by a note saying why.
    """
    if source:
        try:
            return _user_environment().from_string(source).render(**context)
        except TemplateError as exc:
            note = (f"> The plan's report template could not be used ({type(exc).__name__}: {exc}); "
                    "the default follows.\n\n")
            return note + _environment().get_template(f"{template}.md.j2").render(**context)
    return _environment().get_template(f"{template}.md.j2").render(**context)


def _private_names(tree: nodes.Template) -> list[str]:
    # What the sandbox would refuse at render time, found at save time so the author hears of it.
    found = [n.attr for n in tree.find_all(nodes.Getattr) if n.attr.startswith("_")]
    found += [n.arg.value for n in tree.find_all(nodes.Getitem)
              if isinstance(n.arg, nodes.Const) and isinstance(n.arg.value, str) and n.arg.value.startswith("_")]
    found += [str(a.value) for f in tree.find_all(nodes.Filter) if f.name == "attr"
              for a in f.args if isinstance(a, nodes.Const) and str(a.value).startswith("_")]
    found += [n.name for n in tree.find_all(nodes.Name) if n.name.startswith("_")]
    return found


def check_template(source: str) -> None:
    """Raise ValueError naming the line when `source` is not a valid template, or reaches for private attributes."""
    try:
        tree = _user_environment().parse(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template syntax error on line {exc.lineno}: {exc.message}") from None
    private = _private_names(tree)
    if private:
        raise ValueError(f"the template reads {', '.join(sorted(set(private)))}: names starting with '_' are not "
                         "allowed; use the report's fields (plan, run, failures, incident_ids, names)")


def gate_link(gate_id: int) -> str:
    """The approval page of a gate, for people on phones."""
    return f"{get_settings().public_base_url.rstrip('/')}/ui/gates/{gate_id}"
