"""mlstack's policy pack: one set of rules for ``pulumi preview --policy-pack policies`` and
``mlstack check``.

Each rule is a ``pulumi_policy`` policy object defined once, one policy a module, in
:mod:`mlstack.policy.rules` (``mlstack-endpoint-requires-monitoring`` is
``rules/endpoint_requires_monitoring.py``), over resources as the engine sees them (type token,
camelCase inputs, URN, parent, dependencies); what they share is in :mod:`mlstack.policy.kit`.
:mod:`mlstack.policy.pack` lists them in the order they are reported (:data:`POLICIES`).

Example::

    from mlstack.policy import check_stack

    report = check_stack("churn-prod", config={"mlstack-sagemaker-runs-in-vpc": "mandatory"})
    for violation in report.violations:
        print(violation.level, violation.policy, violation.urn, violation.message)

Importing this package is cheap; the policies (and pulumi_policy) load on first use, so
``mlstack --help`` stays fast. Nothing the pack imports loads the engine, pulumi-aws, the
sagemaker SDK, numpy or pyarrow: ``mlstack policy-pack build`` (:mod:`~mlstack.policy.publish`)
vendors exactly those modules into a pack directory an organisation can publish.
"""

from __future__ import annotations

from ..lazy import lazy_exports

__all__ = [
    "PACK_NAME",
    "POLICIES",
    "pack_arguments",
    "check_plan",
    "check_stack",
    "Report",
    "Violation",
    "reconcile",
    "load_config_file",
    "config_schema",
    "has_local_storage",
]

_LAZY = {
    "PACK_NAME": "mlstack.policy.pack",
    "POLICIES": "mlstack.policy.pack",
    "pack_arguments": "mlstack.policy.pack",
    "check_plan": "mlstack.policy.check",
    "check_stack": "mlstack.policy.check",
    "Report": "mlstack.policy.check",
    "Violation": "mlstack.policy.check",
    "reconcile": "mlstack.policy.kit.config",
    "load_config_file": "mlstack.policy.kit.config",
    "config_schema": "mlstack.policy.kit.config",
    "has_local_storage": "mlstack.catalog",
}


__getattr__ = lazy_exports(__name__, _LAZY, namespace=globals())
