"""Templates people type are data: the sandbox refuses code, and the refusal comes at save time."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.core.user_templates import check_template
from notifications.render import render_document

CONTEXT = {"title": "Nightly", "body": "all fine", "link": None}


def escapes(marker: Path) -> list[str]:
    """Template payloads that, in a plain Jinja2 Environment, run `touch marker` in the flow's process."""
    command = f"touch {marker}"
    return [
        f"{{{{ cycler.__init__.__globals__.os.popen('{command}').read() }}}}",
        f"{{{{ lipsum.__globals__['os'].system('{command}') }}}}",
        f"{{{{ (cycler|attr('__init__')|attr('__globals__'))['os'].system('{command}') }}}}",
        f"{{{{ ''.__class__.__mro__[1].__subclasses__() }}}}{{{{ joiner.__init__.__globals__.os.system('{command}') }}}}",
    ]


@pytest.mark.parametrize("index", range(4))
def test_code_in_a_template_is_refused_at_save(tmp_path: Path, index: int) -> None:
    payload = escapes(tmp_path / "ran")[index]
    with pytest.raises(ValueError, match="names starting with '_' are not allowed"):
        check_template(payload)


@pytest.mark.parametrize("index", range(4))
def test_a_stored_escape_renders_the_default_report_and_runs_nothing(tmp_path: Path, index: int) -> None:
    # A template saved before this check existed (or written straight into the database).
    marker = tmp_path / "ran"
    report = render_document("generic", escapes(marker)[index], **CONTEXT)
    assert not marker.exists()
    assert "could not be used (" in report and "all fine" in report
    assert "uid=" not in report


def test_a_template_cannot_change_the_values_it_is_given() -> None:
    failures = [{"ci_name": "web-01"}]
    report = render_document("generic", "{{ failures.append(1) }}{{ failures|length }}", **CONTEXT,
                             failures=failures)
    assert failures == [{"ci_name": "web-01"}] and "could not be used" in report


def test_an_ordinary_template_still_renders() -> None:
    source = "# {{ title }}\n{% for f in failures %}- {{ f.ci_name }}: {{ f.message|upper }}\n{% endfor %}"
    report = render_document("generic", source, **CONTEXT, failures=[{"ci_name": "web-01", "message": "down"}])
    assert report == "# Nightly\n- web-01: DOWN\n"
