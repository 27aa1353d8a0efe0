"""``mlstack:audit`` -> the stack's :class:`~mlstack.components.audit.AuditLog` (bucket and
signing key of the decision log), when the log is on (by default in prod).

The bucket's name is the one ``mlstack promote``/``verify``/``audit verify`` look for
(:func:`~mlstack.specs.audit.audit_bucket_name`: stack, account, region) unless
``mlstack:audit.bucketName`` sets another; the account is ``mlstack:accountId`` or, without it,
the deploying credentials' (``aws.get_caller_identity``, as the day-2 commands ask STS).
"""

from __future__ import annotations

from typing import Optional

import pulumi

from ..engine.declared import declare
from ..specs.audit import audit_bucket_name, resolve_audit, signing_key_alias
from .context import StackContext, entry

__all__ = ["audit_log_from_spec"]


def _account(ctx: StackContext) -> str:
    if ctx.spec.account_id:
        return ctx.spec.account_id
    import pulumi_aws as aws

    invoke = pulumi.InvokeOptions(provider=ctx.provider) if ctx.provider is not None else None
    return aws.get_caller_identity(opts=invoke).account_id


def audit_log_from_spec(ctx: StackContext) -> Optional[object]:
    """The AuditLog of ``ctx.spec.audit``, or None when the stack has no decision log."""
    from ..components.audit import AuditLog, AuditLogArgs

    settings = resolve_audit(ctx.spec.audit, ctx.spec.environment.value)
    if settings is None:
        return None
    with entry("mlstack:audit"):
        log = AuditLog(
            "audit",
            AuditLogArgs(
                bucket_name=settings.bucket_name or audit_bucket_name(ctx.stack, _account(ctx), ctx.region),
                key_alias=signing_key_alias(ctx.stack),
                mode=settings.mode,
                retention_days=settings.days,
                retention_years=settings.years,
                tags=ctx.lineage.tags(),
            ),
            opts=ctx.options(),
        )
    declare(log, "mlstack:audit")
    return log
