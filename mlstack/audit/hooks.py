"""The calls ``mlstack promote`` and ``mlstack verify`` make to write their decision log record.

Each is one call from the command, a no-op for a stack whose ``mlstack:audit`` is off::

    record_promotion(aws, stack, result)     # before the registry is changed: fail closed
    record_verification(aws, stack, reports) # after the endpoints were checked

The record's body is plain JSON: every gate with its operator, threshold, the bound it was
compared with, the value and the outcome; the candidate and the baseline; the decision and the
approval description written to the registry; who (the STS caller ARN), when, and the commit of
the checkout the command ran from.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from ..lineage import UNKNOWN_COMMIT, detect_git_commit

__all__ = ["record_promotion", "record_verification", "promotion_body", "verification_body"]


def _commit(stack: Any) -> str:
    root = stack.project.root if getattr(stack, "project", None) else stack.path.parent
    return stack.spec.git_commit or detect_git_commit(root) or UNKNOWN_COMMIT


def promotion_body(result: Any, *, applied: bool) -> dict[str, Any]:
    """The body of a promote record (a :class:`~mlstack.ops.promote.PromotionResult`)."""
    return {
        "model": result.model,
        "group": result.group,
        "decision": result.decision,
        "applied": applied,
        "candidate": {"arn": result.candidate_arn, "version": result.candidate_version, "status": result.candidate_status},
        "baseline": {"arn": result.baseline_arn, "version": result.baseline_version, "values": result.baseline_values},
        "gates": [
            {
                "metric": r.gate.metric,
                "op": r.gate.op,
                "threshold": r.gate.threshold,
                "tolerance": r.gate.tolerance,
                "bound": r.bound,
                "value": r.value,
                "passed": r.passed,
                "reason": r.reason,
            }
            for r in result.results
        ],
        "override": result.override,
        "approvalDescription": result.description,
        "notes": list(result.notes),
    }


def verification_body(reports: Sequence[Any]) -> dict[str, Any]:
    """The body of a verify record (:class:`~mlstack.ops.verify.EndpointReport` objects)."""
    return {
        "result": "differs" if any(r.failed for r in reports) else "as-declared",
        "endpoints": [
            {
                "name": r.endpoint.name,
                "endpointName": r.endpoint.endpoint_name,
                "status": r.status,
                "summary": r.summary,
                "differences": list(r.differences),
            }
            for r in reports
        ],
    }


def record_promotion(aws: Any, stack: Any, result: Any, *, applied: bool = True) -> Optional[dict[str, Any]]:
    """Append the signed record of a promote decision; None when the stack has no log."""
    from .log import DecisionLog  # imported here: mlstack.ops imports this module, and .log imports mlstack.ops

    log = DecisionLog.for_stack(aws, stack)
    if log is None:
        return None
    return log.append("promote", promotion_body(result, applied=applied), commit=_commit(stack))


def record_verification(aws: Any, stack: Any, reports: Sequence[Any]) -> Optional[dict[str, Any]]:
    """Append the signed record of a verify run; None when the stack has no log."""
    from .log import DecisionLog

    log = DecisionLog.for_stack(aws, stack)
    if log is None:
        return None
    return log.append("verify", verification_body(reports), commit=_commit(stack))
