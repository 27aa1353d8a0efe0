"""``mlstack preflight STACK``: will the account's SageMaker quotas let this stack run?

The peak need comes from the offline plan (:mod:`mlstack.capacity`); the quotas from the
Service Quotas API (service code ``sagemaker``), whose SageMaker quotas are named
"<instance type> for endpoint usage", "... for training job usage", "... for spot training job
usage", "... for processing job usage", "... for transform job usage" (the name SageMaker's
own ``ResourceLimitExceeded`` message quotes, e.g. aws/amazon-sagemaker-examples#307).

Applied vs default (botocore's service-quotas model, ListServiceQuotas documentation): the
applied value of a quota is returned by ``ListServiceQuotas`` only when the account has one;
``ListAWSDefaultServiceQuotas`` lists every quota of the region with its default. A quota in
neither list means the region does not offer that instance type for that use, and the verdict
is "not offered" (exit 1): preflight fails closed. The region itself must be one botocore
lists for SageMaker.

Each shortfall prints the command that asks for more::

    aws service-quotas request-service-quota-increase --service-code sagemaker \\
        --quota-code L-XXXXXXXX --desired-value 12 --region eu-west-1

Quotas are per account and region and shared with whatever else runs there: preflight compares
the stack's own peak with the whole quota (it cannot see other stacks' use).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any, Optional

from .aws import MalformedResponse, OpsError, unreadable_answers

__all__ = ["QuotaRow", "Quota", "read_quotas", "preflight", "region_offers_sagemaker", "render", "register"]

SERVICE_CODE = "sagemaker"


@dataclass(frozen=True)
class Quota:
    code: str
    name: str
    value: float
    source: str
    """applied (the account's value) or default (AWS's default for new accounts)."""
    adjustable: bool


@dataclass
class QuotaRow:
    instance_type: str
    use: str
    steady: int
    during_rollout: int
    quota: Optional[Quota]
    verdict: str
    fix: str = ""

    @property
    def short(self) -> bool:
        return self.verdict != "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            "instanceType": self.instance_type,
            "use": self.use,
            "needSteady": self.steady,
            "needDuringRollout": self.during_rollout,
            "quota": None if self.quota is None else {"code": self.quota.code, "name": self.quota.name, "value": self.quota.value, "source": self.quota.source},
            "verdict": self.verdict,
            "fix": self.fix,
        }


def _quotas(client: Any, operation: str, label: str, source: str) -> dict[str, Quota]:
    found: dict[str, Quota] = {}
    kwargs = {"ServiceCode": SERVICE_CODE}
    if operation == "list_service_quotas":
        kwargs["QuotaAppliedAtLevel"] = "ACCOUNT"
    pages = 0
    token = None
    while True:
        pages += 1
        if pages > 200:
            raise MalformedResponse(f"Service Quotas {label} kept answering NextToken after 200 pages")
        with unreadable_answers(f"Service Quotas {label}"):
            page = getattr(client, operation)(**kwargs, **({"NextToken": token} if token else {}))
            quotas = page["Quotas"]
            if not isinstance(quotas, list):
                raise TypeError("Quotas is not a list")
            for q in quotas:
                name, code, value = q.get("QuotaName"), q.get("QuotaCode"), q.get("Value")
                if not isinstance(name, str) or not isinstance(code, str):
                    raise TypeError(f"a quota without QuotaName/QuotaCode: {q!r:.120}")
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
                    raise ValueError(f"quota {name!r} has no usable Value ({value!r})")
                found[name] = Quota(code, name, float(value), source, bool(q.get("Adjustable", True)))
            following = page.get("NextToken")
        if not following:
            return found
        if following == token or not isinstance(following, str):
            raise MalformedResponse(f"Service Quotas {label} answered the NextToken it was sent ({str(following)[:40]!r}): it would never end")
        token = following


def read_quotas(aws: Any) -> dict[str, Quota]:
    """Every SageMaker quota of the region by name: applied values over defaults."""
    client = aws.client("service-quotas")
    merged = _quotas(client, "list_aws_default_service_quotas", "ListAWSDefaultServiceQuotas", "default")
    merged.update(_quotas(client, "list_service_quotas", "ListServiceQuotas", "applied"))
    return merged


def region_offers_sagemaker(region: str) -> bool:
    """Whether botocore's endpoint data lists SageMaker in ``region`` (any partition)."""
    import botocore.session

    session = botocore.session.get_session()
    for partition in session.get_available_partitions():
        if region in session.get_available_regions("sagemaker", partition_name=partition):
            return True
    return False


def preflight(aws: Any, capacity: Any, region: str) -> list[QuotaRow]:
    """One row per (instance type, use) the stack needs, with the quota and the verdict."""
    if not region_offers_sagemaker(region):
        raise OpsError(f"SageMaker is not offered in {region!r} as far as botocore knows; check aws:region or --region", exit_code=2)
    needs = [n for n in capacity.needs if n.quota_name]
    if not needs:
        return []
    quotas = read_quotas(aws)
    rows = []
    for need in needs:
        quota = quotas.get(need.quota_name)
        if quota is None:
            rows.append(
                QuotaRow(need.instance_type, need.use, need.steady, need.during_rollout, None, "not offered",
                         f"no quota {need.quota_name!r} in {region}: the region does not offer {need.instance_type} for "
                         f"{need.use}; choose another instance type or region")
            )
            continue
        peak = need.during_rollout
        if quota.value >= peak:
            verdict, fix = "ok", ""
        else:
            verdict = "short" if quota.value >= need.steady else "short (steady)"
            fix = (
                f"aws service-quotas request-service-quota-increase --service-code {SERVICE_CODE} --quota-code {quota.code} "
                f"--desired-value {peak} --region {region}"
            )
            if not quota.adjustable:
                fix = f"quota {quota.code} is not adjustable: use fewer or other instances"
        rows.append(QuotaRow(need.instance_type, need.use, need.steady, need.during_rollout, quota, verdict, fix))
    return rows


def render(rows: list[QuotaRow], *, stack: str, region: str, notes: list[str]) -> str:
    lines = [f"stack {stack} ({region}): SageMaker quotas against the stack's peak instances"]
    if not rows:
        lines.append("  the stack runs no SageMaker instances: nothing to check")
    else:
        lines.append(f"  {'instance type':<22} {'use':<14} {'need (steady/rollout)':>22} {'quota':>16}  verdict")
        for r in rows:
            need = f"{r.steady} / {r.during_rollout}"
            quota = "none" if r.quota is None else f"{r.quota.value:g} ({r.quota.source})"
            lines.append(f"  {r.instance_type:<22} {r.use:<14} {need:>22} {quota:>16}  {r.verdict}")
        fixes = [r for r in rows if r.fix]
        if fixes:
            lines.append("")
            lines.append("to fix:")
            lines.extend(f"  {r.instance_type} ({r.use}): {r.fix}" for r in fixes)
    lines.extend(f"note: {n}" for n in notes)
    return "\n".join(lines)


def _command(args: argparse.Namespace, stack: Any, aws: Any) -> int:
    from ..capacity import capacity_of_plan
    from ..engine import plan_stack_file

    capacity = capacity_of_plan(plan_stack_file(stack))
    rows = preflight(aws, capacity, aws.region)
    notes = list(capacity.notes)
    if any(n.use == "kubernetes" for n in capacity.needs):
        notes.append("KServe replicas run on the cluster's nodes: their capacity is the cluster's, not a SageMaker quota")
    notes.append("quotas are per account and region: other stacks and jobs there share them")
    if args.json_output is not None:
        args.json_output.write(json.dumps({"stack": stack.stack, "region": aws.region, "rows": [r.to_json() for r in rows], "uncounted": capacity.uncounted}, indent=2) + "\n")
        if args.json_output.is_stdout:
            return 1 if any(r.short for r in rows) or capacity.uncounted else 0
    print(render(rows, stack=stack.stack, region=aws.region, notes=notes))
    short = [r for r in rows if r.short]
    if short:
        print(f"\n{len(short)} of {len(rows)} instance type/use pair(s) short of quota")
    if capacity.uncounted:
        # The need above is a lower bound: never call it enough.
        print("\nnot counted, so the need above may be short of the truth:")
        print("\n".join(f"  {u}" for u in capacity.uncounted))
    return 1 if short or capacity.uncounted else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``preflight`` to the ``mlstack`` parser (same AWS options and errors as promote/verify/status)."""
    from .cli import _aws_command, _aws_options

    p = subparsers.add_parser(
        "preflight",
        parents=[_aws_options()],
        help="compare the stack's peak instances with the account's SageMaker quotas",
        description="Plan the stack offline, work out its peak instances per instance type and use (autoscaling "
        "maximum, the extra fleet of a rollout, concurrent training runs, monitoring jobs) and compare them with the "
        "account's SageMaker service quotas in the stack's region. Needs servicequotas:ListServiceQuotas and "
        "servicequotas:ListAWSDefaultServiceQuotas. Exit codes: 0 enough quota, 1 short (or not offered), 2 bad input.",
    )
    p.add_argument("stack", help="a stack name such as churn-prod, or the path of a Pulumi.<stack>.yaml file")
    p.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH ('-' for stdout only)")
    p.set_defaults(handler=_aws_command(_command))
