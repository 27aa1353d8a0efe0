"""Run the policy pack in-process over an offline plan: what ``mlstack check`` does.

The policies are the very ``pulumi_policy`` objects the CrossGuard pack serves
(:data:`mlstack.policy.pack.POLICIES`). Each is handed what the CrossGuard analyzer would hand it:
``ResourceValidationArgs`` per resource and one ``StackValidationArgs`` with linked
``PolicyResource`` objects, the properties wrapped in the SDK's read-only proxies, the config
reconciled as the CLI does (:mod:`mlstack.policy.kit.config`), and the stack tag
``mlstack:environment`` from the stack file. One difference is inherent: offline, every resource
shows its *inputs*; CrossGuard's stack policies see *outputs*, which for pulumi-aws repeat the
inputs under the same names.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from inspect import isawaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from ..lineage import ENVIRONMENT, STACK, TEAM
from .kit.config import PolicySettings, reconcile
from .kit.offline import OfflineTransforms, evaluating_offline
from .kit.stack import using_stack_config
from .kit.values import memoising
from .kit.waivers import Decision, decide, recording_decisions
from .pack import POLICIES
from .rules import waivers_reported

if TYPE_CHECKING:  # the engine (pulumi's mock runtime) loads only where a stack is planned
    from ..config import StackFile
    from ..engine import Plan, ResourceRecord

__all__ = ["Violation", "Declared", "Report", "check_plan", "check_stack", "stack_tags_for", "shown_path"]


@dataclass(frozen=True)
class Declared:
    """What the user wrote that a violated resource came from: the stack-file entry of its
    component (``mlstack:endpoints[0]``), and where that entry is (file and line, when known)."""

    key: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line else self.file
        return f"{where} {self.key}" if where else self.key

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "key": self.key}


@dataclass(frozen=True)
class Violation:
    """One policy violation: which policy, how enforced, which resource, what should be true, and
    the stack-file entry the resource was declared by (None for the stack, or a resource no entry
    declared, such as one a Python program adds itself)."""

    policy: str
    level: str
    message: str
    description: str
    urn: str | None = None
    resource_type: str | None = None
    resource_name: str | None = None
    declared_at: Declared | None = None
    waiver: Decision | None = None
    """The waiver that names this violation: applied (then it is in :attr:`Report.waived`, not
    counted), expired or forbidden (then it counts)."""

    @property
    def waived(self) -> bool:
        return self.waiver is not None and self.waiver.status == "applied"

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "enforcementLevel": self.level,
            "urn": self.urn,
            "type": self.resource_type,
            "name": self.resource_name,
            "declaredAt": self.declared_at.to_json() if self.declared_at else None,
            "message": self.message,
            "description": self.description,
            "waiver": _waiver_json(self.waiver),
        }


def _waiver_json(decision: Decision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {"status": decision.status, **decision.waiver.to_json()}


@dataclass
class Report:
    """The outcome of checking one stack."""

    stack: str
    project: str
    environment: str | None
    resources: int
    settings: dict[str, PolicySettings]
    violations: list[Violation] = field(default_factory=list)
    not_applicable: list[dict[str, str]] = field(default_factory=list)
    descriptions: dict[str, str] = field(default_factory=dict)
    waived: list[Violation] = field(default_factory=list)
    """Violations a waiver covers: reported, never counted."""
    subjects: list[tuple[str, str, str]] = field(default_factory=list)
    """(urn, type, name) of every resource judged, in plan order."""
    kinds: dict[str, str] = field(default_factory=dict)
    """Policy name -> ``resource`` or ``stack``."""
    policies: dict[str, Any] = field(default_factory=dict)
    """Policy name -> the policy object (its metadata: severity, tags, remediation)."""
    stack_file: str | None = None
    """The stack file as shown (relative to the working directory where it can be)."""

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "advisory"]

    @property
    def passed(self) -> bool:
        return not self.mandatory

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "project": self.project,
            "environment": self.environment,
            "resources": self.resources,
            "passed": self.passed,
            "summary": {"mandatory": len(self.mandatory), "advisory": len(self.advisory)},
            "policies": [
                {"name": name, "enforcementLevel": s.level, "config": s.properties, "description": self.descriptions.get(name, "")}
                for name, s in self.settings.items()
            ],
            "violations": [v.to_json() for v in self.violations],
            "waived": [v.to_json() for v in self.waived],
            "notApplicable": self.not_applicable,
            "stackFile": self.stack_file,
        }


def _options(record: ResourceRecord) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=record.parent,
    )


def _run(result: Any) -> None:
    if isawaitable(result):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(result)
        finally:
            loop.close()


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The evaluation allocates many short-lived views of the properties and no cycles worth
    collecting; over a plan of tens of thousands of resources the collector's passes over the
    plan's objects would double the run time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def stack_tags_for(environment: str, *, team: str | None = None, stack: str | None = None) -> dict[str, str]:
    """The stack tags ``mlstack check`` hands the policies (``pulumi stack tag set`` gives the
    same to CrossGuard)."""
    tags = {ENVIRONMENT: environment}
    if team:
        tags[TEAM] = team
    if stack:
        tags[STACK] = stack
    return tags


def shown_path(path: str | Path) -> str:
    """A stack file's path as mlstack shows it: relative to the working directory where it can be."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def _locator(plan: Plan, stack_file: StackFile | None):
    """``urn -> Declared | None``: the stack-file entry of the nearest of a resource and its
    ancestors that the plan says was declared by one, with its line in ``stack_file``."""
    from ..engine.declared import declaring_entry, key_parts

    declared_at = getattr(plan, "declared_at", None) or {}
    parent_of = {r.urn: r.parent for r in plan.resources}
    lines = stack_file.lines if stack_file is not None else {}
    file = shown_path(stack_file.path) if stack_file is not None else None
    # A key written without its namespace (`endpoints:` in a project named mlstack) is the same key.
    bare = stack_file is not None and stack_file.project_name == "mlstack"
    found: dict[str, Declared] = {}

    def line_of(key: str) -> int | None:
        parts = key_parts(key)
        for head in (parts[0], parts[0].split(":", 1)[1]) if bare else (parts[0],):
            path = ("config", head, *parts[1:])
            while len(path) > 1:
                if path in lines:
                    return lines[path]
                path = path[:-1]
        return None

    def locate(urn: str | None) -> Declared | None:
        entry = declaring_entry(urn, declared_at, parent_of) if urn and declared_at else None
        if entry is None:
            return None
        component, key = entry
        if component not in found:
            found[component] = Declared(key=key, file=file, line=line_of(key))
        return found[component]

    return locate


def check_plan(
    plan: Plan,
    *,
    config: Mapping[str, Any] | None = None,
    config_file: str | None = None,
    stack_tags: Mapping[str, str] | None = None,
    stack_config: Mapping[str, Any] | None = None,
    policies: Sequence[Any] | None = None,
    stack_file: StackFile | None = None,
) -> Report:
    """Evaluate ``policies`` (default: the whole pack) over a recorded plan.

    ``stack_tags`` and ``stack_config`` are what CrossGuard hands a pack: the stack's tags and
    its config (``namespace:key`` -> string, objects as JSON; see ``StackFile.pulumi_config``).
    Transforms the plan recorded but could not run are handed to ``mlstack-transforms-evaluated``.
    ``stack_file``: the file the plan was made from, whose line map places each violation's
    stack-file entry (``Plan.declared_at``) at its line.
    """
    offline = OfflineTransforms(
        by_urn={r.urn: tuple(r.transforms) for r in plan.resources if getattr(r, "transforms", None)},
        invoke_transforms=getattr(plan, "invoke_transforms", 0),
    )
    locate = _locator(plan, stack_file)
    with using_stack_config(stack_config or {}), evaluating_offline(offline), memoising(), recording_decisions(), _gc_paused():
        report = _check(plan, config, config_file, stack_tags, list(POLICIES if policies is None else policies), locate)
    report.stack_file = shown_path(stack_file.path) if stack_file is not None else None
    return report


def _check(plan: Plan, config: Any, config_file: str | None, stack_tags: Mapping[str, str] | None, policies: list[Any], locate: Any) -> Report:
    settings = reconcile(policies, config, file=config_file)
    tags = dict(stack_tags or {})
    report = Report(
        stack=plan.stack,
        project=plan.project,
        environment=tags.get(ENVIRONMENT),
        resources=len(plan.resources),
        settings=settings,
        descriptions={p.name: p.description for p in policies},
        kinds={p.name: "stack" if isinstance(p, StackValidationPolicy) else "resource" for p in policies},
        policies={p.name: p for p in policies},
    )
    active = [(p, settings[p.name]) for p in policies if settings[p.name].level != "disabled"]
    records = list(plan.resources)
    report.subjects = [(r.urn, r.type, r.name) for r in records]
    props = {r.urn: unknown_checking_proxy(r.inputs) for r in records}
    by_urn = {r.urn: r for r in records}

    def reporter(policy: Any, level: str, record: ResourceRecord | None, config: Mapping[str, Any]):
        def report_violation(message: str, urn: str | None = None) -> None:
            target = record if record is not None else by_urn.get(urn or "")
            violating = (record.urn if record is not None else urn) or None
            # The same decision CrossGuard's pack takes (mlstack.policy.pack.fail_closed); a waived
            # violation is kept, in report.waived, and listed by mlstack-waivers-reported.
            decision = None if policy.name == waivers_reported.NAME else decide(policy.name, violating, message, config=config, stack_tags=tags)
            if decision is not None and decision.status != "applied":
                message = f"{message} ({decision.describe()})"
            into = report.waived if decision is not None and decision.status == "applied" else report.violations
            into.append(
                Violation(
                    policy=policy.name,
                    level=level,
                    message=message,
                    description=policy.description,
                    urn=(record.urn if record is not None else urn) or None,
                    resource_type=target.type if target else None,
                    resource_name=target.name if target else None,
                    declared_at=locate(target.urn) if target else None,
                    waiver=decision,
                )
            )

        return report_violation

    def guarded(policy: Any, urn: str | None, call) -> None:
        try:
            _run(call())
        except _NotApplicableError as exc:
            report.not_applicable.append({"policy": policy.name, "urn": urn or "", "reason": exc.reason or ""})
        except UnknownValueError as exc:  # cannot happen offline (every value is known); kept for parity
            report.not_applicable.append({"policy": policy.name, "urn": urn or "", "reason": exc.message})

    from ..progress import progress

    resource_policies = [(p, s) for p, s in active if isinstance(p, ResourceValidationPolicy)]
    with progress(f"checking {plan.stack}", total=len(records), unit="resource") as bar:
        for record in records:
            options = _options(record)
            for policy, setting in resource_policies:
                args = ResourceValidationArgs(record.type, props[record.urn], record.urn, record.name, options, None, setting.properties, tags)
                guarded(policy, record.urn, lambda: policy.validate(args, reporter(policy, setting.level, record, setting.properties)))
            bar.update()

    stack_policies = [(p, s) for p, s in active if isinstance(p, StackValidationPolicy)]
    if stack_policies:
        resources = {
            r.urn: PolicyResource(r.type, props[r.urn], r.urn, r.name, _options(r), None, None, [], {}) for r in records
        }
        for r in records:
            resource = resources[r.urn]
            resource.parent = resources.get(r.parent) if r.parent else None
            resource.dependencies = [resources[d] for d in r.dependencies if d in resources]
            resource.property_dependencies = {k: [resources[d] for d in v if d in resources] for k, v in r.property_dependencies.items()}
        ordered = list(resources.values())
        for policy, setting in stack_policies:
            args = StackValidationArgs(ordered, setting.properties, tags)
            guarded(policy, None, lambda: policy.validate(args, reporter(policy, setting.level, None, setting.properties)))
    order = {p.name: i for i, p in enumerate(policies)}
    report.violations.sort(key=lambda v: (v.level != "mandatory", order.get(v.policy, 0)))
    return report


def check_stack(
    stack: str | Path,
    *,
    config: Mapping[str, Any] | None = None,
    config_file: str | None = None,
    cwd: Path | None = None,
    worker: Any = None,
) -> Report:
    """Validate ``stack`` (a name such as churn-prod or a path), plan it offline, run the pack.

    ``worker``: a plan worker the caller already started on the stack's file
    (:func:`mlstack.engine.isolation.start_worker`), so planning overlaps even the caller's imports;
    it is collected (or cancelled) here.

    The policy config is validated before the (slower) plan, so a bad config fails fast. The
    stack's program never runs in this process: a worker plans it and hands back the plan as
    data (:mod:`mlstack.engine.isolation`), so nothing the program does can change the policies,
    this function or the report.
    """
    from ..config import load_stack, resolve_stack_file
    from ..engine.isolation import start_worker

    from ..progress import activity

    # The stack's program runs in a worker process; only its plan, as data, comes back here. The
    # worker starts before this process validates the stack file, so the two overlap (the worker
    # validates it too before the program runs); an invalid file or policy config stops the worker.
    pending = worker
    try:
        reconcile(POLICIES, config, file=config_file)
        if pending is None:
            path, _ = resolve_stack_file(str(stack), cwd=cwd)
            pending = start_worker([path], cwd=cwd)
        stack_file = load_stack(stack, cwd=cwd)
        with activity(f"planning {stack_file.stack}"):
            [plan] = pending.collect([stack_file])
    finally:
        if pending is not None:
            pending.cancel()
    if isinstance(plan, BaseException):
        raise plan
    spec = stack_file.spec
    tags = stack_tags_for(spec.environment.value, team=spec.team, stack=stack_file.stack)
    return check_plan(
        plan, config=config, config_file=config_file, stack_tags=tags, stack_config=stack_file.pulumi_config(), stack_file=stack_file
    )
