"""Templates people type (an inspection plan's report) are data, not code: checked when saved, rendered only
in Jinja2's immutable sandbox. Here, below every domain, so a plan is validated where it is parsed."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from config.settings import get_settings


def local_time(value: datetime | None, *, zone: bool = True) -> str:
    """An instant in the operating timezone, as people read it ("—" for none)."""
    if value is None:
        return "—"
    settings = get_settings()
    text = value.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    return f"{text} ({settings.timezone})" if zone else text


@lru_cache
def user_environment() -> ImmutableSandboxedEnvironment:
    """The sandbox a user template is parsed and rendered in."""
    # Templates that people type (an inspection plan's report) are data, not code: the immutable
    # sandbox refuses private attributes (`cycler.__init__.__globals__`), unsafe callables and any
    # mutation of the values it is given. No loader: a user template cannot include ours or files.
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True,
                                        lstrip_blocks=True)
    env.filters["local"] = local_time
    return env


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
        tree = user_environment().parse(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template syntax error on line {exc.lineno}: {exc.message}") from None
    private = _private_names(tree)
    if private:
        raise ValueError(f"the template reads {', '.join(sorted(set(private)))}: names starting with '_' are not "
                         "allowed; use the report's fields (plan, run, failures, incident_ids, names)")
