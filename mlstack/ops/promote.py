"""``mlstack promote``: approve or reject a registered model version by the stack's gates.

The candidate (the group's newest version, a version number or a model package ARN) is compared
with the group's last Approved version on the gates declared in ``mlstack:models[].gates``. The
decision is written to the registry itself — ``ModelApprovalStatus`` plus an
``ApprovalDescription`` recording every gate's values — so the audit trail lives with the model::

    result = promote(Aws(AwsSettings(region="eu-west-1")), load_stack("churn-prod"), "churn-xgb")
    print(result.render())        # PASS/FAIL per gate and the decision
    sys.exit(result.exit_code)    # 0 approved, 1 rejected

It fails closed: an AWS answer it cannot read, or evidence that is not a plain finite number,
stops it (:class:`~mlstack.ops.aws.OpsError`, exit 1) before any decision is made or written.
A version a person (or an earlier promote) Rejected stays Rejected unless the caller passes
``override_rejection="why"``; the approval description then records who overrode it, why,
and the rejection it overrode.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from ..audit.hooks import record_promotion
from ..config import StackFile
from ..errors import UsageError
from ..gates import GateResult, evaluate_gates
from ..specs.gates import GateSpec
from .accounts import check_group_arn, registry_access
from .aws import Aws, MalformedResponse, OpsError, unreadable_answers
from .cards import approved_version_card
from .metrics import PackageMetrics, read_metrics
from .registry import (
    APPROVED,
    REJECTED,
    describe_group,
    describe_package,
    find_version,
    latest_approved,
    latest_version,
    model_version,
    arn_owner,
    package_group,
)

__all__ = [
    "promote",
    "PromotionResult",
    "approval_description",
    "APPROVAL_DESCRIPTION_MAX",
    "LATEST",
    "OVERRIDE_REASON_MAX",
    "check_override_reason",
]

#: SageMaker's limit on ApprovalDescription (botocore shape ApprovalDescription, max 1024).
APPROVAL_DESCRIPTION_MAX = 1024
LATEST = "latest"
#: Longest --override-rejection reason: it must fit the approval description with the gates.
OVERRIDE_REASON_MAX = 300
# SageMaker's ApprovalDescription pattern is ".*": no line terminators (Java's "." excludes
# \n, \r, \u0085, \u2028, \u2029); other control characters are not text either.
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


@dataclass
class PromotionResult:
    """What ``promote`` found and decided."""

    model: str
    group: str
    candidate_arn: str
    candidate_version: Optional[int]
    candidate_status: str
    baseline_arn: Optional[str] = None
    baseline_version: Optional[int] = None
    results: list[GateResult] = field(default_factory=list)
    decision: Optional[str] = None
    """Approved or Rejected; None when there was nothing to decide (already Approved)."""
    applied: bool = False
    """Whether the decision was written to the registry (False on a dry run)."""
    description: str = ""
    notes: list[str] = field(default_factory=list)
    baseline_values: Optional[dict[str, float]] = None
    """The last Approved version's metrics (read only when a gate compares with them)."""
    override: Optional[str] = None
    """The audit clause of an overridden rejection (who, why, what was overridden)."""

    @property
    def approved(self) -> bool:
        return self.decision == APPROVED or (self.decision is None and self.candidate_status == APPROVED)

    @property
    def exit_code(self) -> int:
        return 0 if self.approved else 1

    def _label(self, version: Optional[int], arn: Optional[str]) -> str:
        return f"{self.group} v{version}" if version is not None else str(arn)

    def render(self) -> str:
        candidate = self._label(self.candidate_version, self.candidate_arn)
        if self.decision is None:
            return f"{candidate} is already Approved; nothing to do"
        baseline = (
            f"last Approved {self._label(self.baseline_version, self.baseline_arn)}"
            if self.baseline_arn
            else "no previous Approved version"
        )
        lines = [f"promote {self.model}: candidate {candidate} ({self.candidate_status}), {baseline}"]
        if self.override:
            lines.append(f"  {self.override}")
        lines += [f"  {_gate_line(r, why=True, baseline=self.baseline_values)}" for r in self.results]
        lines += [f"  note: {n}" for n in self.notes]
        failed = sum(not r.passed for r in self.results)
        verdict = "APPROVED" if self.decision == APPROVED else "REJECTED"
        why = "every gate passed" if not failed else f"{failed} of {len(self.results)} gates failed"
        if self.applied:
            tail = "; the decision and gate values are recorded in the registry's approval description"
        elif self.candidate_status == REJECTED and self.decision == REJECTED:
            tail = "; it stays Rejected and its approval description is kept"
        else:
            tail = "; dry run: the registry was not changed"
        lines.append(f"{verdict} {candidate} ({why}){tail}")
        return "\n".join(lines)


def _gate_line(result: GateResult, *, why: bool, baseline: Optional[Mapping[str, float]] = None) -> str:
    line = result.render()
    if result.gate.relative and baseline and result.gate.metric in baseline and result.bound is not None:
        line += f" (last approved: {baseline[result.gate.metric]:g})"
    if why and result.gate.description:
        line += f" [{result.gate.description}]"
    return line


def _compact(result: GateResult) -> str:
    mark = "PASS" if result.passed else "FAIL"
    if result.value is None:
        return f"{mark} {result.gate.metric}=missing"
    if result.bound is None:
        return f"{mark} {result.gate.metric}={result.value:g}"
    return f"{mark} {result.gate.metric}={result.value:g}{result.gate.op}{result.bound:g}"


def approval_description(
    *,
    decision: str,
    stack: str,
    candidate_version: Optional[int],
    baseline_version: Optional[int],
    results: list[GateResult],
    when: _dt.datetime,
    baseline: Optional[Mapping[str, float]] = None,
    override: Optional[str] = None,
    limit: int = APPROVAL_DESCRIPTION_MAX,
) -> str:
    """The audit record written to the registry: decision, context and every gate's values,
    shortened step by step to fit SageMaker's ``limit`` (full wording, then compact, then cut).

    ``override`` (who overrode a rejection, why, and what they overrode) is kept whole: only the
    gates' part is shortened. The text is one line, as SageMaker's pattern requires.
    """
    previous = f"v{baseline_version}" if baseline_version is not None else "none"
    head = (
        f"mlstack promote {decision.upper()} v{candidate_version} "
        f"(stack {stack}, last approved {previous}, {when.strftime('%Y-%m-%dT%H:%M:%SZ')}): "
    )
    if override:
        head += _one_line(override) + "; gates: "
    for render in (
        lambda r: _gate_line(r, why=True, baseline=baseline),
        lambda r: _gate_line(r, why=False, baseline=baseline),
        lambda r: _gate_line(r, why=False),
        _compact,
    ):
        text = _one_line(head + "; ".join(render(r) for r in results))
        if len(text) <= limit:
            return text
    return text[: limit - 1] + "…"


def _one_line(text: str) -> str:
    return _NOT_ONE_LINE.sub(" ", text)


def check_override_reason(reason: Optional[str]) -> Optional[str]:
    """The --override-rejection reason, stripped; UsageError (exit 2) when it is empty, longer
    than :data:`OVERRIDE_REASON_MAX` or not one line of text."""
    if reason is None:
        return None
    text = reason.strip()
    if not text:
        raise UsageError("--override-rejection needs a reason, e.g. --override-rejection \"bias re-measured on the fixed eval set, see TICKET-12\"")
    if len(text) > OVERRIDE_REASON_MAX:
        raise UsageError(f"--override-rejection reason is {len(text)} characters; keep it within {OVERRIDE_REASON_MAX} (link a ticket for more)")
    if _NOT_ONE_LINE.search(text):
        raise UsageError("--override-rejection reason must be one line of text (no newlines or control characters)")
    return text


def _who(context: Any) -> str:
    """Who a SageMaker UserContext (LastModifiedBy/CreatedBy) names, or "unknown"."""
    if not isinstance(context, Mapping):
        return "unknown"
    identity = context.get("IamIdentity")
    if isinstance(identity, Mapping) and isinstance(identity.get("Arn"), str):
        return identity["Arn"]
    for key in ("UserProfileName", "UserProfileArn"):
        if isinstance(context.get(key), str):
            return context[key]
    return "unknown"


def _caller(aws: Aws) -> str:
    """The ARN of the credentials in use (sts:GetCallerIdentity needs no permission)."""
    sts = aws.client("sts")
    with unreadable_answers("STS GetCallerIdentity"):
        arn = sts.get_caller_identity().get("Arn")
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        raise MalformedResponse(f"STS GetCallerIdentity answered no caller ARN ({arn!r}); the override could not be attributed")
    return arn


def _clip(text: str, limit: int) -> str:
    text = _one_line(text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rejection(package: Mapping[str, Any]) -> str:
    """The rejection on record: by whom, when, and its description (shortened)."""
    who = _who(package.get("LastModifiedBy"))
    when = package.get("LastModifiedTime")
    at = f" at {when.strftime('%Y-%m-%dT%H:%M:%SZ')}" if isinstance(when, _dt.datetime) else ""
    said = package.get("ApprovalDescription") or ""
    return f"Rejected by {_clip(who, 160)}{at}" + (f" ({_clip(said, 160)!r})" if said else "")


def _resolve_candidate(client: Any, group: str, candidate: str, *, owner_prefix: str) -> dict[str, Any]:
    if candidate == LATEST:
        summary = latest_version(client, group)
        if summary is None:
            raise OpsError(f"model package group {group!r} has no versions yet; register one (run the training pipeline) first", exit_code=2)
        arn = summary["ModelPackageArn"]
    elif candidate.isdigit():
        summary = find_version(client, group, int(candidate))
        if summary is None:
            raise OpsError(f"model package group {group!r} has no version {candidate}; see the versions with `mlstack status`", exit_code=2)
        arn = summary["ModelPackageArn"]
    elif candidate.startswith("arn:"):
        arn = candidate
    else:
        raise UsageError(f"--candidate {candidate!r} is not 'latest', a version number or a model package ARN")
    package = describe_package(client, arn)
    owner = package.get("ModelPackageGroupName")
    if owner is None or package_group(package["ModelPackageArn"]) is None:
        raise OpsError(f"model package {arn} is not a version of a model package group; pass a version of {group!r}", exit_code=2)
    if owner.casefold() != group.casefold():
        raise OpsError(f"model package {arn} belongs to group {owner!r}, not {group!r}; pass a version of {group!r}", exit_code=2)
    if arn_owner(package["ModelPackageArn"]).casefold() != owner_prefix.casefold():
        # A shared (cross-account) group of the same name: approving there changes another registry.
        where = owner_prefix.rstrip(":").split(":", 3)[-1].replace(":", " account ")
        if candidate.startswith("arn:"):
            raise OpsError(f"model package {arn} is not in the stack's registry ({where}); pass a version of {group!r} there", exit_code=2)
        raise MalformedResponse(f"SageMaker listed {arn} as a version of {group!r}, which lives in {where}")
    return package


def _check_unchanged(client: Any, group: str, arn: str, status: str, baseline_arn: Optional[str]) -> None:
    """Just before writing the decision: the candidate's status and the last Approved version
    are still what the decision was made on (someone may have acted meanwhile)."""
    now = describe_package(client, arn).get("ModelApprovalStatus")
    if now != status:
        raise OpsError(
            f"{arn} became {now} while promote was deciding (it was {status}); nothing was written: run promote again",
            exit_code=1,
        )
    latest = latest_approved(client, group, exclude=[arn])
    latest_arn = latest["ModelPackageArn"] if latest else None
    if (latest_arn or "").casefold() != (baseline_arn or "").casefold():
        raise OpsError(
            f"the last Approved version of {group!r} changed while promote was deciding ({baseline_arn or 'none'} -> "
            f"{latest_arn or 'none'}); nothing was written: run promote again",
            exit_code=1,
        )


def promote(
    aws: Aws,
    stack: StackFile,
    model: str,
    *,
    candidate: str = LATEST,
    dry_run: bool = False,
    now: Optional[_dt.datetime] = None,
    override_rejection: Optional[str] = None,
) -> PromotionResult:
    """Evaluate ``model``'s gates on a candidate version and approve or reject it.

    ``override_rejection``: why a Rejected candidate may be approved (when its gates pass);
    without it a Rejected candidate stops the command. It is refused for other candidates.
    """
    reason = check_override_reason(override_rejection)
    spec = stack.spec
    try:
        model_spec = spec.model(model)
    except KeyError:
        known = ", ".join(m.name for m in spec.models)
        raise UsageError(f"stack {stack.stack!r} declares no model {model!r}; models: {known}") from None
    gates: list[GateSpec] = list(model_spec.gates)
    if not gates:
        index = [m.name for m in spec.models].index(model)
        raise UsageError(
            f"model {model!r} declares no gates (mlstack:models[{index}].gates), so there is nothing to decide on; "
            "declare gates such as {metric: accuracy, op: '>=', threshold: last-approved}"
        )
    # The registry may be another account's (source.registry): reached through source.roleArn.
    registry = registry_access(aws, stack, model, write=True, purpose="promote")
    home = aws  # the stack's own account: its decision log is written there, never with the assumed role
    aws = registry.aws
    group = registry.group
    sagemaker = aws.client("sagemaker")
    described_group = describe_group(sagemaker, group)
    if described_group is None:
        where = f"{aws.region}" if registry.arn is None else f"the account of {registry.arn}"
        raise OpsError(
            f"model package group {group!r} does not exist in {where}; deploy the stack (pulumi up) and register a version first",
            exit_code=2,
        )
    check_group_arn(registry, described_group)
    owner_prefix = arn_owner(described_group["ModelPackageGroupArn"])
    package = _resolve_candidate(sagemaker, group, candidate, owner_prefix=owner_prefix)
    arn = package["ModelPackageArn"]
    result = PromotionResult(
        model=model,
        group=group,
        candidate_arn=arn,
        candidate_version=model_version(package),
        candidate_status=package["ModelApprovalStatus"],
    )
    if registry.arn is not None:
        result.notes.append(f"registry {registry.arn} (another account), reached through {stack.spec.model(model).source_registry.role_arn}")
    label = f"{group} v{result.candidate_version}"
    if reason is not None and result.candidate_status != REJECTED:
        raise UsageError(
            f"--override-rejection applies only to a Rejected version; {label} is {result.candidate_status}. Drop the flag"
        )
    if result.candidate_status == APPROVED:
        return result
    if result.candidate_status == REJECTED:
        if reason is None:
            raise OpsError(
                f"{label} was {_rejection(package)}; mlstack does not approve a Rejected version again on its own. "
                f"To approve it anyway, pass --override-rejection \"<why>\": the gates are still checked, and your identity, "
                "the reason and the rejection you override are recorded in its approval description",
                exit_code=1,
            )
        result.override = f"OVERRIDES the rejection on record ({_rejection(package)}): override by {_clip(_caller(aws), 200)}, reason {reason!r}"

    gated = {g.metric for g in gates}
    baseline_summary = latest_approved(sagemaker, group, exclude=[arn])
    baseline_metrics: Optional[dict[str, float]] = None
    baseline_report: Optional[str] = None
    if baseline_summary is not None:
        if arn_owner(baseline_summary["ModelPackageArn"]).casefold() != owner_prefix.casefold():
            raise MalformedResponse(f"SageMaker listed {baseline_summary['ModelPackageArn']} as the last Approved version of {group!r}, outside its registry")
        result.baseline_arn = baseline_summary["ModelPackageArn"]
        result.baseline_version = model_version(baseline_summary)
        if any(g.relative for g in gates):
            baseline = describe_package(sagemaker, result.baseline_arn)
            if baseline.get("ModelApprovalStatus") != APPROVED:
                raise MalformedResponse(
                    f"SageMaker listed {result.baseline_arn} as Approved but describes it as {baseline.get('ModelApprovalStatus')}"
                )
            if (baseline.get("ModelPackageGroupName") or "").casefold() != group.casefold():
                raise MalformedResponse(f"SageMaker describes the last Approved version {result.baseline_arn} as a version of another group")
            read = read_metrics(
                aws, baseline, label=f"the last Approved version v{result.baseline_version}", model=model,
                gated={g.metric for g in gates if g.relative},
            )
            result.notes += [f"last approved: {n}" for n in read.notes]
            baseline_metrics = result.baseline_values = read.values
            baseline_report = read.report
    current: PackageMetrics = read_metrics(aws, package, label=f"candidate v{result.candidate_version}", model=model, gated=gated)
    if baseline_report and current.report == baseline_report:
        raise OpsError(
            f"candidate {label} and the last Approved version v{result.baseline_version} declare the same metrics report "
            f"{current.report}; a version must be judged on its own evaluation. Nothing was changed",
            exit_code=1,
        )
    result.notes += current.notes
    if not current.values:
        result.notes.append(
            "the candidate has no metrics: no ModelMetrics.ModelQuality.Statistics report and no numeric customer metadata"
        )
    result.results = evaluate_gates(gates, current.values, baseline_metrics)
    result.decision = APPROVED if all(r.passed for r in result.results) else REJECTED
    when = now or _dt.datetime.now(_dt.timezone.utc)
    result.description = approval_description(
        decision=result.decision,
        stack=stack.stack,
        candidate_version=result.candidate_version,
        baseline_version=result.baseline_version,
        results=result.results,
        when=when,
        baseline=baseline_metrics,
        override=result.override,
    )
    still_rejected = result.candidate_status == REJECTED and result.decision == REJECTED
    if still_rejected:
        # Still failing its gates: it stays Rejected, and the rejection on record is not overwritten.
        result.notes.append("the override does not apply: the gates still fail")
    # The approved version's card is written in the approving call: built (and checked) first,
    # so a dry run and a real run refuse the same invalid card before anything is written.
    card = (
        approved_version_card(
            stack=stack.stack, spec=spec, model=model_spec, package=package, result=result,
            metrics=current.values, report=current.report, when=when,
        )
        if result.decision == APPROVED
        else {}
    )
    if dry_run:
        return result
    if not still_rejected:
        _check_unchanged(sagemaker, group, arn, result.candidate_status, result.baseline_arn)
    # The signed decision log (mlstack:audit) first: no registry change without its record.
    record_promotion(home, stack, result, applied=not still_rejected)
    if not still_rejected:
        sagemaker.update_model_package(
            ModelPackageArn=arn,
            ModelApprovalStatus=result.decision,
            ApprovalDescription=result.description,
            **card,
        )
        result.applied = True
    return result
