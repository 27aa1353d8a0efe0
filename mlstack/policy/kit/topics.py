"""The topics a policy is filed under: its ``tags``, which the pack sends the Pulumi CLI with the
policy's other metadata (``PolicyInfo.tags``), and which the documentation groups policies by."""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["TOPICS"]

#: Every topic a policy may carry, with what it covers.
TOPICS = MappingProxyType(
    {
        "accounts": "which AWS accounts a stack deploys to and may name",
        "capacity": "instance types and accelerator caps",
        "cost": "monthly spend and GPU-hours against the stack's budget",
        "encryption": "data at rest under customer KMS keys",
        "iam": "who may do what: grants, trust, key and resource policies",
        "lineage": "where a resource and a served model come from",
        "monitoring": "data capture, alarms and drift",
        "network": "public access and private networking",
        "offline-check": "what mlstack check can and cannot judge offline",
        "quality": "production model quality and fairness judged against the promotion gates",
        "registry": "serving approved, gated model versions",
        "rollout": "how a new model version reaches traffic",
        "supply-chain": "which code and images run",
        "training": "how training pipelines produce model versions",
        "waivers": "reviewable exceptions to the other policies",
    }
)
