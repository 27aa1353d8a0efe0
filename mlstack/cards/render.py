"""A model card for humans: Markdown, HTML or JSON from card content in SageMaker's schema."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["CardView", "render", "FORMATS"]

FORMATS = ("markdown", "html", "json")


@dataclass
class CardView:
    """What ``mlstack card`` shows: the content and where it came from."""

    model: str
    group: str
    stack: str
    content: dict[str, Any]
    status: str
    """The card's review status (Draft, PendingReview, Approved)."""
    source: str
    """Where the content was read: the stack file, or the registry version's card."""
    version: Optional[int] = None
    approval: Optional[str] = None
    """The version's ModelApprovalStatus (live only)."""
    approval_description: Optional[str] = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "group": self.group,
            "stack": self.stack,
            "version": self.version,
            "approvalStatus": self.approval,
            "approvalDescription": self.approval_description,
            "cardStatus": self.status,
            "source": self.source,
            "notes": self.notes,
            "content": self.content,
        }


def _sections(view: CardView) -> list[tuple[str, list[tuple[str, str]]]]:
    c = view.content
    overview = c.get("model_overview") or {}
    intended = c.get("intended_uses") or {}
    extra = c.get("additional_information") or {}
    custom = extra.get("custom_details") or {}
    training = ((c.get("training_details") or {}).get("training_job_details")) or {}
    head = [("Model", view.model), ("Registry group", view.group), ("Stack", view.stack)]
    if view.version is not None:
        head.append(("Version", str(view.version)))
    if view.approval:
        head.append(("Approval", view.approval))
    head += [("Card status", view.status), ("Owner", str(custom.get("owner") or overview.get("model_creator") or "")), ("Source", view.source)]
    sections = [("", head)]
    uses = [
        ("Purpose", intended.get("purpose_of_model")),
        ("Intended uses", intended.get("intended_uses")),
        ("Out-of-scope uses", custom.get("out_of_scope_uses")),
        ("Risk rating", intended.get("risk_rating")),
        ("Why this rating", intended.get("explanations_for_risk_rating")),
    ]
    sections.append(("Uses and risk", [(k, str(v)) for k, v in uses if v]))
    sections.append(
        (
            "Considerations",
            [(k, str(v)) for k, v in (("Ethical considerations", extra.get("ethical_considerations")), ("Caveats and recommendations", extra.get("caveats_and_recommendations"))) if v],
        )
    )
    lineage = [("Training data", ", ".join(training.get("training_datasets") or [])), ("Training job", training.get("training_arn") or ""), ("Artifacts", ", ".join(overview.get("model_artifact") or []))]
    lineage = [(k, v) for k, v in lineage if v]
    if lineage:
        sections.append(("Lineage", lineage))
    for evaluation in c.get("evaluation_details") or []:
        rows = [("Evaluation", str(evaluation.get("name", "")))]
        if evaluation.get("evaluation_observation"):
            rows.append(("Observation", str(evaluation["evaluation_observation"])))
        rows += [(str(k), str(v)) for k, v in sorted((evaluation.get("metadata") or {}).items())]
        for group in evaluation.get("metric_groups") or []:
            for metric in group.get("metric_data") or []:
                value = metric.get("value")
                shown = ("PASS" if value else "FAIL") if isinstance(value, bool) else (f"{value:g}" if isinstance(value, (int, float)) else str(value))
                notes = f" — {metric['notes']}" if metric.get("notes") else ""
                rows.append((f"{group.get('name')}: {metric.get('name')}", shown + notes))
        sections.append(("Evaluation", rows))
    if view.approval_description:
        sections.append(("Decision on record", [("Approval description", view.approval_description)]))
    if view.notes:
        sections.append(("Notes", [("", n) for n in view.notes]))
    return sections


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(view: CardView) -> str:
    title = f"# Model card: {view.model}" + (f" v{view.version}" if view.version is not None else "")
    lines = [title, ""]
    for name, rows in _sections(view):
        if not rows:
            continue
        if name:
            lines += [f"## {name}", ""]
        lines += ["| | |", "|---|---|"]
        lines += [f"| {_md(k)} | {_md(v)} |" for k, v in rows]
        lines.append("")
    return "\n".join(lines)


def _html(view: CardView) -> str:
    e = html.escape
    title = f"Model card: {view.model}" + (f" v{view.version}" if view.version is not None else "")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}th{text-align:left;vertical-align:top;padding-right:1em}</style>",
        f"</head><body><h1>{e(title)}</h1>",
    ]
    for name, rows in _sections(view):
        if not rows:
            continue
        if name:
            parts.append(f"<h2>{e(name)}</h2>")
        parts.append("<table>")
        parts += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows]
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render(view: CardView, fmt: str) -> str:
    """``view`` as ``markdown``, ``html`` or ``json``."""
    if fmt == "json":
        return json.dumps(view.to_json(), indent=2, sort_keys=True) + "\n"
    if fmt == "html":
        return _html(view)
    if fmt == "markdown":
        return _markdown(view)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
