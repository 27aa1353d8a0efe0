"""``mlstack:tracking`` -> one :class:`~mlstack.components.tracking.ExperimentTracking` (an MLflow
tracking server named ``<team>-mlflow``), exported as ``tracking``; the training pipelines
built after it receive its ARN."""

from __future__ import annotations

from typing import Any

import pulumi

from ..engine.declared import declare
from .context import StackContext, entry

__all__ = ["tracking_from_spec"]


def tracking_from_spec(ctx: StackContext) -> Any:
    """The stack's ExperimentTracking (``ctx.spec.tracking`` must be set)."""
    from ..components.tracking import ExperimentTracking, ExperimentTrackingArgs

    spec = ctx.spec
    with entry("mlstack:tracking"):
        tracking = ExperimentTracking(
            "mlflow",
            ExperimentTrackingArgs(server_name=f"{spec.team}-mlflow", spec=spec.tracking, tags=ctx.lineage.tags()),
            opts=ctx.options(),
        )
    declare(tracking, "mlstack:tracking")
    pulumi.export("tracking", {"arn": tracking.arn, "serverName": tracking.server_name, "artifactStoreUri": tracking.artifact_store_uri})
    return tracking
