"""Day-2 operations against AWS: ``mlstack promote``, ``mlstack verify`` and ``mlstack status``.

Every command talks to AWS through :class:`~mlstack.ops.aws.Aws`, which honours the standard AWS
settings (credentials chain, ``AWS_PROFILE``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``,
``AWS_MAX_ATTEMPTS``, ``AWS_RETRY_MODE``) plus command-line overrides, retries throttled calls
with backoff within a total deadline (``MLSTACK_AWS_TIMEOUT``, 120 s by default), and turns AWS
failures into an :class:`~mlstack.ops.aws.OpsError` with a readable message and an exit code.
Answers that are not what the API promises raise :class:`~mlstack.ops.aws.MalformedResponse`:
they are never read as "nothing there". Importing this package is cheap: boto3 is imported on
first use.

Python use::

    from mlstack.ops import Aws, AwsSettings, promote

    aws = Aws(AwsSettings(region="eu-west-1"))
    result = promote(aws, stack_file, "churn-xgb", dry_run=True)
    print(result.render())
"""

from __future__ import annotations

from .aws import Aws, AwsSettings, DeadlineExceeded, MalformedResponse, OpsError
from .promote import PromotionResult, promote
from .registry import latest_approved, model_version
from .status import StatusRow, collect_status
from .verify import EndpointReport, verify_endpoints

__all__ = [
    "Aws",
    "AwsSettings",
    "OpsError",
    "MalformedResponse",
    "DeadlineExceeded",
    "promote",
    "PromotionResult",
    "latest_approved",
    "model_version",
    "verify_endpoints",
    "EndpointReport",
    "collect_status",
    "StatusRow",
]
