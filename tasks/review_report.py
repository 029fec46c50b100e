"""The quarterly review as documents: an HTML checklist with charts, an XLSX workbook, a Markdown summary."""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Any

from notifications.render import render_document, render_html


@lru_cache
def _pyplot() -> Any:
    """matplotlib, set up once and only when a report is drawn: every process serving the flows imports this
    module, and matplotlib costs ~0.6 s to import."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and workers
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    # Chart labels are ASCII; a CJK font is preferred when installed (Debian fonts-noto-cjk) so that team-
    # supplied Chinese names render, and DejaVu (bundled with matplotlib) otherwise.
    cjk = [f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name]
    plt.rcParams["font.sans-serif"] = [*cjk[:1], "DejaVu Sans"]
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, and small
    return plt


MEASURES = ("response", "on_site", "resolution")


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    _pyplot().close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # inline in the page: drop the XML prolog and doctype


def sla_chart(metrics: dict[str, Any]) -> str:
    """Bars: SLA achievement per measure, major and general faults side by side, with the 60 % line."""
    figure, axes = _pyplot().subplots(figsize=(6, 3))
    sla = metrics["incidents"]["sla"]
    for offset, fault_class in ((-0.2, "major"), (0.2, "general")):
        values = [100 * (sla[fault_class][m]["achievement"] or 0) for m in MEASURES]
        axes.bar([i + offset for i in range(3)], values, width=0.4, label=f"{fault_class} faults")
    axes.axhline(60, color="red", linestyle="--", linewidth=1, label="acceptance 60 %")
    axes.set_xticks(range(3), ["response", "on site", "resolution"])
    axes.set_ylim(0, 105)
    axes.set_ylabel("% within target")
    axes.set_title("SLA achievement")
    axes.legend(fontsize=7, loc="lower right")
    return _svg(figure)


def incident_trend_chart(months: list[tuple[str, int]]) -> str:
    """Line: incidents reported per month over the last two quarters."""
    figure, axes = _pyplot().subplots(figsize=(6, 3))
    axes.plot([m for m, _ in months], [n for _, n in months], marker="o")
    axes.set_ylabel("incidents")
    axes.set_title("Incident trend")
    axes.set_ylim(bottom=0)
    return _svg(figure)


def change_outcome_chart(metrics: dict[str, Any]) -> str:
    """Stacked bars: change outcomes per change type."""
    figure, axes = _pyplot().subplots(figsize=(6, 3))
    outcomes = metrics["changes"]["outcomes"]
    types = list(outcomes)
    bottom = [0] * len(types)
    for status in ("succeeded", "rolled_back", "rollback_failed", "rejected", "window_missed"):
        values = [outcomes[t].get(status, 0) for t in types]
        if any(values):
            axes.bar(types, values, bottom=bottom, label=status)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_ylabel("changes")
    axes.set_title("Change outcomes")
    if any(bottom):
        axes.legend(fontsize=7)
    return _svg(figure)


def review_html(context: dict[str, Any], months: list[tuple[str, int]]) -> str:
    """The delivery implementation checklist as one self-contained HTML page (charts inline as SVG)."""
    metrics = context["metrics"]
    charts = {"sla": sla_chart(metrics), "incidents": incident_trend_chart(months),
              "changes": change_outcome_chart(metrics)}
    return render_html("quarterly_review", charts=charts, **context)


def review_markdown(context: dict[str, Any]) -> str:
    """The summary shown as an artifact in the Prefect UI."""
    return render_document("quarterly_review_summary", **context)


def _sheet(book: Any, title: str, header: list[str], rows: list[list[Any]]) -> None:
    from openpyxl.styles import Font, PatternFill

    sheet = book.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for row in rows:
        sheet.append(row)
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = max(12, *(len(str(c.value or "")) + 2
                                                                           for c in column))


def review_xlsx(context: dict[str, Any]) -> bytes:
    """The same figures as a workbook: one sheet per part of the checklist."""
    from openpyxl import Workbook

    m = context["metrics"]
    book = Workbook()
    book.remove(book.active)
    _sheet(book, "Targets", ["Target", "Figure", "Required", "Met", "Owner"],
           [[t["label"], t["value"], t["target"], {True: "yes", False: "NO", None: "n/a"}[t["met"]], t["owner"]]
            for t in context["targets"]])
    _sheet(book, "Inspections", ["Plan", "Planned", "Executed", "Missed", "On demand", "Failed", "Exceptions"],
           [[p["plan"], p["planned"], p["executed"], p["missed"], p["on_demand"], p["failed"], p["exceptions"]]
            for p in m["inspections"]["plans"]])
    _sheet(book, "SLA", ["Fault class", "Measure", "Measured", "Met", "Achievement"],
           [[fc, measure, v["measured"], v["met"], v["achievement"]] for fc, by in m["incidents"]["sla"].items()
            for measure, v in by.items()])
    inc = m["incidents"]
    _sheet(book, "Incidents", ["Figure", "Value"],
           [["total", inc["total"]], *[[f"level {k}", v] for k, v in inc["by_level"].items()],
            ["escalated", inc["escalated"]], ["MTTA (min)", inc["mtta_minutes"]], ["MTTR (min)", inc["mttr_minutes"]],
            ["timely response rate", inc["timely_response_rate"]],
            ["timely resolution rate", inc["timely_resolution_rate"]], ["escalation rate", inc["escalation_rate"]]])
    ch = m["changes"]
    _sheet(book, "Changes", ["Type", "Count", *sorted({s for o in ch["outcomes"].values() for s in o})],
           [[t, ch["by_type"][t], *[ch["outcomes"][t].get(s, 0) for s in sorted({s for o in ch["outcomes"].values()
                                                                               for s in o})]] for t in ch["by_type"]])
    _sheet(book, "Compliance", ["Check", "Count"], [[k, v] for k, v in m["compliance"].items()])
    _sheet(book, "Satisfaction", ["Figure", "Value"], [[k, v] for k, v in m["satisfaction"].items()])
    _sheet(book, "Risks", ["Figure", "Value"], [[k, v] for k, v in m["risks"].items()])
    _sheet(book, "Trends", ["Figure", "Current", "Previous", "Change"],
           [[t["figure"], t["current"], t["previous"], t["change"]] for t in context["trends"]])
    _sheet(book, "Improvements", ["Target", "Finding", "Measure", "Owner", "Due"],
           [[i["target"], i["finding"], i["measure"], i["owner_role"], i["due_on"]] for i in context["measures"]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
