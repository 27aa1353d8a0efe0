"""The Kubernetes provider KServe endpoints are created with, from the standard ``kubernetes:*``
config keys (``kubernetes:context``, ``kubernetes:kubeconfig``, ``kubernetes:cluster``,
``kubernetes:namespace``). The stack program makes it once, and only for a stack with a KServe
endpoint (pulumi_kubernetes is imported then, not before); components never create providers."""

from __future__ import annotations

from typing import Any

import pulumi

__all__ = ["kubernetes_provider"]


def kubernetes_provider() -> Any:
    import pulumi_kubernetes as kubernetes

    config = pulumi.Config("kubernetes")
    return kubernetes.Provider(
        "kubernetes",
        context=config.get("context"),
        kubeconfig=config.get("kubeconfig"),
        cluster=config.get("cluster"),
        namespace=config.get("namespace"),
    )
