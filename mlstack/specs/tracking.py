"""``mlstack:tracking``: a SageMaker managed MLflow tracking server for the stack's experiments.

Example (a stack file)::

    mlstack:tracking:
      size: Small                       # Small (default), Medium or Large
      mlflowVersion: "2.16.2"           # default: SageMaker's current default version
      maintenanceWindow: "Sun:03:00"    # weekly, UTC

With it, every training pipeline's jobs get the server's ARN as ``MLFLOW_TRACKING_URI`` (the
``sagemaker-mlflow`` plugin resolves an ARN there) and ``MLFLOW_TRACKING_ARN``, their role may
call MLflow on that server only, and each registered version records the run id its
evaluation report names (``{"mlflow": {"run_id": "..."}}``) as ``mlstack:mlflow-run-id``.
Bounds are botocore's CreateMlflowTrackingServer shapes (TrackingServerSize, MlflowVersion,
WeeklyMaintenanceWindowStart).
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import StringConstraints

from .base import Spec

__all__ = ["TrackingSpec"]


class TrackingSpec(Spec):
    """An MLflow tracking server (SageMaker managed) whose artifacts live in a private, versioned,
    KMS-encrypted bucket of the stack, reached by a role scoped to that bucket and key."""

    size: Literal["Small", "Medium", "Large"] = "Small"
    """The server's size (SageMaker: Small, Medium or Large; default Small)."""
    mlflow_version: Optional[Annotated[str, StringConstraints(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$", max_length=16)]] = None
    """The MLflow version, e.g. 2.16.2 (default: SageMaker's current default)."""
    maintenance_window: Optional[Annotated[str, StringConstraints(pattern=r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):([0-5]\d)$")]] = None
    """Start of the weekly maintenance window in UTC, e.g. Sun:03:00 (default: chosen by SageMaker)."""
