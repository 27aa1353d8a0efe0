"""Monitor: alarms, data drift, a dashboard and drift-triggered retraining for one endpoint.

* :mod:`.monitor` — the component: notifications, the endpoint's alarms, the composite alarm,
  retraining, and its arguments;
* :mod:`.drift` — :class:`DriftJob`, the child component running the drift check;
* :mod:`.drift_alarms` — the alarms on the drift metrics, and those metrics' names;
* :mod:`.dashboard` — the CloudWatch dashboard's body;
* :mod:`.prometheus` — :class:`PrometheusAlerts`, the monitor of a KServe endpoint: a PrometheusRule.
"""

from .drift import DriftJob, DriftJobArgs
from .drift_alarms import MODEL_MONITOR_DIMENSIONS, MODEL_MONITOR_NAMESPACE, model_monitor_metric
from .monitor import Monitor, MonitorArgs, MonitoredEndpoint, RetrainPipeline
from .prometheus import PrometheusAlerts, PrometheusAlertsArgs

__all__ = [
    "Monitor",
    "MonitorArgs",
    "MonitoredEndpoint",
    "RetrainPipeline",
    "PrometheusAlerts",
    "PrometheusAlertsArgs",
    "DriftJob",
    "DriftJobArgs",
    "MODEL_MONITOR_NAMESPACE",
    "MODEL_MONITOR_DIMENSIONS",
    "model_monitor_metric",
]
