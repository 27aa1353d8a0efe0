"""mlstack's policy pack: one set of rules for ``pulumi preview --policy-pack policies`` and
``mlstack check``.

Each rule is a ``pulumi_policy`` policy object defined once in a small module here, over resources
as the engine sees them (type token, camelCase inputs, URN, parent, dependencies):

==========================================  ==========================================================
``mlstack-resource-has-lineage-tags``        :mod:`~mlstack.policy.lineage_tags`
``mlstack-storage-encrypted-with-kms``       :mod:`~mlstack.policy.encryption`
``mlstack-s3-bucket-blocks-public-access``   :mod:`~mlstack.policy.public_access`
``mlstack-sagemaker-runs-in-vpc``            :mod:`~mlstack.policy.public_access`
``mlstack-endpoint-requires-progressive-rollout``  :mod:`~mlstack.policy.rollout`
``mlstack-endpoint-requires-monitoring``     :mod:`~mlstack.policy.monitoring`
``mlstack-instance-types-within-limits``     :mod:`~mlstack.policy.instances`
``mlstack-endpoint-serves-approved-package`` :mod:`~mlstack.policy.approved_models`
``mlstack-pipeline-gates-registration``      :mod:`~mlstack.policy.training_gates`
``mlstack-image-pinned-by-digest``           :mod:`~mlstack.policy.image_digests`
``mlstack-model-lineage-complete``           :mod:`~mlstack.policy.lineage_complete`
==========================================  ==========================================================

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

from typing import Any

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
    "PACK_NAME": "pack",
    "POLICIES": "pack",
    "pack_arguments": "pack",
    "check_plan": "check",
    "check_stack": "check",
    "Report": "check",
    "Violation": "check",
    "reconcile": "_config",
    "load_config_file": "_config",
    "config_schema": "_config",
    "has_local_storage": "_common",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mlstack.policy' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
