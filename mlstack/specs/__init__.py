"""Every ``mlstack:*`` key's model, one module per noun; nothing here imports Pulumi.

==========================  ===========================================================
:mod:`~.base`                the :class:`Spec` base, shared types (ECR image, KMS key ARN,
                             VPC, instance type per use, S3 URI, slugs, tags, schedules)
:mod:`~.stack`               :class:`StackSpec` (the stack file), ``mlstack:models``
:mod:`~.registry`            ``mlstack:registry``
:mod:`~.features`            ``mlstack:featureGroups``
:mod:`~.training`            ``mlstack:models[].training``
:mod:`~.gates`               ``mlstack:models[].gates``
:mod:`~.endpoint`            ``mlstack:endpoints``
:mod:`~.rollout`             ``mlstack:endpoints[].rollout``
:mod:`~.kserve`              ``mlstack:endpoints[].kserve``
:mod:`~.monitor`             ``mlstack:monitors``
:mod:`~.audit`               ``mlstack:audit`` (the signed decision log)
==========================  ===========================================================

A rule that spans several keys is one pure function beside the key it guards (e.g.
:func:`~mlstack.specs.endpoint.check_deployed_variants`), called by the spec when a stack file
is validated and by the components and the stack program on the Python path.

Example::

    from mlstack.specs import EndpointSpec

    spec = EndpointSpec.model_validate({"name": "scoring", "model": "churn-xgb", ...})

Names load lazily: importing this package loads no spec module, so the policy pack, which
needs only :mod:`~.base`, vendors no more than that.
"""

from __future__ import annotations

from ..lazy import lazy_exports

__all__ = [
    "Spec",
    "Environment",
    "VpcSpec",
    "NAMESPACE",
    "StackSpec",
    "ModelSpec",
    "DatasetSpec",
    "ApprovalMode",
    "RegistrySpec",
    "FeatureGroupSpec",
    "FeatureSpec",
    "TrainingSpec",
    "GateSpec",
    "EndpointSpec",
    "RolloutSpec",
    "KServeSpec",
    "MonitorSpec",
    "AuditSpec",
]

_LAZY = {
    "Spec": "base",
    "Environment": "base",
    "VpcSpec": "base",
    "NAMESPACE": "stack",
    "StackSpec": "stack",
    "ModelSpec": "stack",
    "DatasetSpec": "stack",
    "ApprovalMode": "registry",
    "RegistrySpec": "registry",
    "FeatureGroupSpec": "features",
    "FeatureSpec": "features",
    "TrainingSpec": "training",
    "GateSpec": "gates",
    "EndpointSpec": "endpoint",
    "RolloutSpec": "rollout",
    "KServeSpec": "kserve",
    "MonitorSpec": "monitor",
    "AuditSpec": "audit",
}


__getattr__ = lazy_exports(__name__, {name: f".{module}" for name, module in _LAZY.items()}, namespace=globals())
