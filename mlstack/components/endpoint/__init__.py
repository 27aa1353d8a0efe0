"""An endpoint of ``mlstack:endpoints``: :class:`Endpoint` on SageMaker, :class:`InferenceService`
on KServe.

* :mod:`.endpoint` — the SageMaker endpoint, its arguments and children;
* :mod:`.rollout` — blue/green or rolling deployment config and the rollback alarms;
* :mod:`.autoscaling` — the scalable target and its target-tracking policies;
* :mod:`.iam` — the execution role's policy;
* :mod:`.metrics` — the metric verbs other components build alarms and dashboards from;
* :mod:`.kserve` — the KServe InferenceService, checked against KServe's CRD schema (``data/``).
"""

from .endpoint import Endpoint, EndpointArgs
from .kserve import InferenceService, InferenceServiceArgs
from .metrics import EndpointMetrics
from .rollout import rollback_alarm_names

__all__ = ["Endpoint", "EndpointArgs", "EndpointMetrics", "InferenceService", "InferenceServiceArgs", "rollback_alarm_names"]
