"""``mlstack status``: one table of what a stack is doing right now.

* **models** — per model package group: the currently Approved version (newest Approved by
  creation time, the one "latest approved" endpoints deploy) and how many versions wait for
  approval;
* **pipelines** — the stack's SageMaker pipelines whose names start with a model's registry
  group ``<team>-<model>`` (the TrainingPipeline names its pipeline ``<team>-<model>-training``),
  with their last execution;
* **alarms** — CloudWatch alarms tagged ``mlstack:stack=<stack>`` (every alarm mlstack creates
  carries lineage tags), plus any whose name starts with ``--alarm-prefix``, with their state.

::

    rows = collect_status(aws, load_stack("churn-prod"))
    print(render_table(rows))
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Optional, Sequence

from ..config import StackFile
from ..lineage import STACK
from .registry import APPROVED, PENDING, describe_group, iter_versions, latest_approved, model_version

__all__ = ["StatusRow", "collect_status", "render_table", "pipeline_prefixes"]

_ALARM_BATCH = 100  # DescribeAlarms accepts at most 100 names


@dataclass(frozen=True)
class StatusRow:
    """One line of the status table."""

    kind: str
    """model, pipeline or alarm."""
    name: str
    state: str
    detail: str = ""
    updated: Optional[str] = None
    """When the state last changed (ISO 8601, UTC)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _when(value: Any) -> Optional[str]:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    return str(value) if value else None


def _model_rows(aws: Any, stack: StackFile) -> list[StatusRow]:
    from .accounts import check_group_arn, registry_access

    rows = []
    for model in stack.spec.models:
        # Another account's registry (source.registry) is read through source.roleArn, if given.
        registry = registry_access(aws, stack, model.name, purpose="status")
        sagemaker = registry.aws.client("sagemaker")
        group = registry.group
        described = describe_group(sagemaker, group)
        if described is None:
            where = "deploy the stack" if registry.arn is None else f"check {registry.arn} and source.roleArn"
            rows.append(StatusRow("model", registry.arn or group, "missing", f"the group does not exist: {where}"))
            continue
        check_group_arn(registry, described)
        if registry.arn is not None:
            approved = latest_approved(sagemaker, group)
            pending = list(iter_versions(sagemaker, group, status=PENDING))
            waiting = f"{len(pending)} pending (newest v{model_version(pending[0])})" if pending else "none pending"
            state = f"{APPROVED} v{model_version(approved)}" if approved else "no Approved version"
            rows.append(StatusRow("model", registry.arn, state, f"{waiting}; registry of account {registry.arn.split(':')[4]}",
                                  _when(approved.get("CreationTime")) if approved else None))
            continue
        approved = latest_approved(sagemaker, group)
        pending = list(iter_versions(sagemaker, group, status=PENDING))
        waiting = f"{len(pending)} pending (newest v{model_version(pending[0])})" if pending else "none pending"
        mode = stack.spec.registry_for(model.name).approval_mode.value
        if approved is None:
            rows.append(StatusRow("model", group, "no Approved version", f"{waiting}; approval {mode}"))
        else:
            rows.append(
                StatusRow(
                    "model",
                    group,
                    f"{APPROVED} v{model_version(approved)}",
                    f"{waiting}; approval {mode}",
                    _when(approved.get("CreationTime")),
                )
            )
    return rows


def pipeline_prefixes(stack: StackFile) -> list[str]:
    """Name prefixes of the stack's pipelines: one per model, ``<team>-<model>``."""
    return [stack.spec.group_name(m.name) for m in stack.spec.models]


def _pipeline_rows(aws: Any, stack: StackFile) -> list[StatusRow]:
    sagemaker = aws.client("sagemaker")
    names: list[str] = []
    for prefix in pipeline_prefixes(stack):
        for page in sagemaker.get_paginator("list_pipelines").paginate(PipelineNamePrefix=prefix):
            names += [p["PipelineName"] for p in page.get("PipelineSummaries", []) if p["PipelineName"] not in names]
    rows = []
    for name in sorted(names):
        runs = sagemaker.list_pipeline_executions(
            PipelineName=name, SortBy="CreationTime", SortOrder="Descending", MaxResults=1
        ).get("PipelineExecutionSummaries", [])
        if not runs:
            rows.append(StatusRow("pipeline", name, "never run"))
            continue
        run = runs[0]
        arn = run.get("PipelineExecutionArn", "")
        detail = f"execution {arn.rsplit('/', 1)[-1]}" if arn else ""
        state = run.get("PipelineExecutionStatus", "unknown")
        if state in ("Failed", "Stopped") and run.get("PipelineExecutionFailureReason"):
            detail += f": {run['PipelineExecutionFailureReason']}"
        rows.append(StatusRow("pipeline", name, state, detail, _when(run.get("StartTime"))))
    return rows


def _batches(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _alarm_rows(aws: Any, stack: StackFile, alarm_prefix: Optional[str]) -> list[StatusRow]:
    tagging = aws.client("resourcegroupstaggingapi")
    names: list[str] = []
    pages = tagging.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": STACK, "Values": [stack.stack]}], ResourceTypeFilters=["cloudwatch:alarm"]
    )
    for page in pages:
        for resource in page.get("ResourceTagMappingList", []):
            name = resource["ResourceARN"].split(":alarm:", 1)[-1]
            if name not in names:
                names.append(name)
    cloudwatch = aws.client("cloudwatch")
    alarms: dict[str, dict[str, Any]] = {}
    types = ["MetricAlarm", "CompositeAlarm"]
    for batch in _batches(sorted(names), _ALARM_BATCH):
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNames=list(batch), AlarmTypes=types):
            for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
                alarms[alarm["AlarmName"]] = alarm
    if alarm_prefix:
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=alarm_prefix, AlarmTypes=types):
            for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
                alarms[alarm["AlarmName"]] = alarm
    rows = []
    for name in sorted(alarms):
        alarm = alarms[name]
        reason = alarm.get("StateReason", "")
        metric = alarm.get("MetricName")
        detail = f"{alarm.get('Namespace')}/{metric}" if metric else "composite"
        if alarm.get("StateValue") == "ALARM" and reason:
            detail += f": {reason}"
        rows.append(StatusRow("alarm", name, alarm.get("StateValue", "unknown"), detail, _when(alarm.get("StateUpdatedTimestamp"))))
    return rows


def collect_status(aws: Any, stack: StackFile, *, alarm_prefix: Optional[str] = None) -> list[StatusRow]:
    """Rows for the stack's models, pipelines and alarms, in that order."""
    return _model_rows(aws, stack) + _pipeline_rows(aws, stack) + _alarm_rows(aws, stack, alarm_prefix)


def render_table(rows: Sequence[StatusRow], *, width: int = 72) -> str:
    """A plain aligned table (KIND, NAME, STATE, UPDATED, DETAIL); long details are cut at ``width``."""
    header = ("KIND", "NAME", "STATE", "UPDATED", "DETAIL")
    cells = [header] + [
        (r.kind, r.name, r.state, r.updated or "-", r.detail if len(r.detail) <= width else r.detail[: width - 1] + "…")
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths)) + "  " + row[-1] for row in cells]
    return "\n".join(line.rstrip() for line in lines)
