"""The policies of mlstack's pack, in the order they are reported.

``policies/__main__.py`` builds the CrossGuard ``PolicyPack`` from :data:`POLICIES`, and
``mlstack check`` runs the very same objects in-process (:mod:`mlstack.policy.check`).
"""

from __future__ import annotations

from . import (
    approved_models,
    encryption,
    image_digests,
    instances,
    lineage_complete,
    lineage_tags,
    monitoring,
    public_access,
    rollout,
    training_gates,
)

__all__ = ["PACK_NAME", "POLICIES", "pack_arguments"]

PACK_NAME = "mlstack"

POLICIES = [
    lineage_tags.POLICY,
    encryption.POLICY,
    public_access.S3_POLICY,
    public_access.VPC_POLICY,
    rollout.POLICY,
    monitoring.POLICY,
    instances.POLICY,
    approved_models.POLICY,
    training_gates.POLICY,
    image_digests.POLICY,
    lineage_complete.POLICY,
]


def pack_arguments() -> dict:
    """Keyword arguments of ``pulumi_policy.PolicyPack`` for mlstack's pack."""
    return {
        "name": PACK_NAME,
        "policies": list(POLICIES),
        "description": "mlstack's rules for MLOps stacks on AWS: lineage, encryption, private access, progressive "
        "rollout, monitoring, instance limits, approved models, gated registration, pinned images.",
        "provider": "aws",
        "tags": ["mlops", "sagemaker", "kserve"],
    }
