"""What a CloudWatch alarm of the stack can and cannot do, judged from its recorded inputs.

Shared by the rollout policy (rollback alarms) and the monitoring policy (a Monitor's alarms): an
alarm that can never enter ALARM is a rule kept only in letter. The facts used:

* SageMaker sends ``Invocation5XXErrors``, ``Invocation4XXErrors`` and ``InvocationModelErrors``
  as 1 or 0 per request, so any statistic but Sum and SampleCount lies in [0, 1]; an error rate
  computed with metric math (errors / invocations, maybe x 100) lies in [0, 1] or [0, 100].
* A model container must answer a real-time or serverless invocation within 60 s (botocore's
  sagemaker-runtime InvokeEndpoint documentation); an asynchronous invocation may run up to
  3600 s (InvokeEndpointAsync ``InvocationTimeoutSeconds``, max 3600). ``ModelLatency`` is in
  microseconds.
* SageMaker publishes no ``Invocations`` datapoint when nothing is invoked: an alarm that should
  fire on vanished traffic must treat missing data as breaching.
* mlstack's drift job smooths both distributions with :data:`EPSILON` (see
  :mod:`mlstack.drift.stats`), so with ``k >= 2`` buckets ``ln(p/q) <= ln(1 + 1/EPSILON)``:
  KL(p || q) reaches at most ``ln(1 + 1/EPSILON) / (1 + k EPSILON)`` and PSI at most twice that
  (all mass in one bucket against all mass in another). More buckets only lower the bound, so the
  bound for two buckets holds whatever bins a feature has: about 13.8 for KL and 27.6 for PSI.
  ``FeaturesDrifted`` counts features, so it never exceeds the number of features the job measures.

The module imports nothing heavy: the policy pack vendors it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...drift import METRIC_FEATURES_DRIFTED, METRIC_KL, METRIC_PSI, NAMESPACE as DRIFT_NAMESPACE
from .index import StackIndex
from .resource_types import ENDPOINT_CONFIG, ENDPOINT_TYPE
from .values import UNKNOWN, get, is_set, number, plain

__all__ = [
    "EPSILON",
    "PSI_MAX",
    "KL_MAX",
    "REALTIME_TIMEOUT_SECONDS",
    "ASYNC_TIMEOUT_SECONDS",
    "Watched",
    "watched",
    "never_fires",
    "window_seconds",
    "latency_ceiling_us",
]

#: The drift job's smoothing (mlstack.drift.stats.EPSILON; a test keeps the two equal).
EPSILON = 1e-6
#: The largest KL divergence the drift job can publish (two buckets, all mass apart).
KL_MAX = math.log1p(1 / EPSILON) / (1 + 2 * EPSILON)
#: The largest PSI the drift job can publish.
PSI_MAX = 2 * KL_MAX
#: How long a model container may take to answer a real-time or serverless invocation.
REALTIME_TIMEOUT_SECONDS = 60
#: How long an asynchronous invocation may run at most.
ASYNC_TIMEOUT_SECONDS = 3600

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
#: Per-request 0/1 metrics: every statistic but these two lies in [0, 1].
ERROR_FLAGS = ("Invocation5XXErrors", "Invocation4XXErrors", "InvocationModelErrors")
_UNBOUNDED_STATS = ("Sum", "SampleCount")
_GREATER = ("GreaterThanThreshold", "GreaterThanOrEqualToThreshold")
_LESS = ("LessThanThreshold", "LessThanOrEqualToThreshold")
_PERCENT = re.compile(r"(?<![\d.])100(?:\.0*)?\s*\*|\*\s*100(?:\.0*)?(?![\d.])")


@dataclass(frozen=True)
class Watched:
    """The value an alarm compares with its threshold: what it is and the range it lies in."""

    what: str
    """A short description for messages, e.g. ``the 5XX error rate (0-1)``."""
    floor: float | None = None
    ceiling: float | None = None
    metric: str | None = None
    namespace: str | None = None
    dimensions: Mapping[str, Any] | None = None


def _stat(props: Mapping[str, Any]) -> Any:
    return props.get("extendedStatistic") or props.get("statistic") or props.get("stat")


def _single(namespace: Any, metric: Any, stat: Any, dims: Any, *, latency_ceiling_us: float, features: int | None) -> Watched | None:
    dims = dims if isinstance(dims, Mapping) else {}
    if not isinstance(metric, str):
        return None
    base = {"metric": metric, "namespace": namespace if isinstance(namespace, str) else None, "dimensions": dims}
    if namespace == SAGEMAKER_NAMESPACE:
        if metric in ERROR_FLAGS and isinstance(stat, str) and stat not in _UNBOUNDED_STATS:
            return Watched(f"{metric} as {stat} (each request counts 1 or 0, so 0-1)", 0.0, 1.0, **base)
        if metric == "ModelLatency" and isinstance(stat, str) and stat not in _UNBOUNDED_STATS:
            return Watched(f"ModelLatency {stat} (at most {latency_ceiling_us / 1e6:g} s, the invocation timeout, in microseconds)", 0.0, latency_ceiling_us, **base)
        if metric == "Invocations":
            return Watched("the number of invocations", 0.0, None, **base)
    if namespace == DRIFT_NAMESPACE:
        if metric == METRIC_PSI:
            return Watched(f"the drift job's PSI (at most {PSI_MAX:.4g})", 0.0, PSI_MAX, **base)
        if metric == METRIC_KL:
            return Watched(f"the drift job's KL divergence (at most {KL_MAX:.4g})", 0.0, KL_MAX, **base)
        if metric == METRIC_FEATURES_DRIFTED:
            ceiling = float(features) if features is not None else None
            what = f"the number of drifted features (at most {features}, the features the drift job measures)" if features is not None else "the number of drifted features"
            return Watched(what, 0.0, ceiling, **base)
    return Watched(f"{metric}", None, None, **base)


def watched(props: Mapping[str, Any], *, latency_ceiling_us: float = ASYNC_TIMEOUT_SECONDS * 1e6, features: int | None = None) -> Watched | None:
    """What an alarm (its plain inputs) watches and its range; None when not known."""
    queries = props.get("metricQueries")
    if not isinstance(queries, list) or not queries:
        return _single(props.get("namespace"), props.get("metricName"), _stat(props), props.get("dimensions"), latency_ceiling_us=latency_ceiling_us, features=features)
    metrics: dict[str, Mapping[str, Any]] = {}
    returned = []
    for query in queries:
        if not isinstance(query, Mapping):
            continue
        if isinstance(query.get("metric"), Mapping) and isinstance(query.get("id"), str):
            metrics[query["id"]] = query["metric"]
        if query.get("returnData") is True or len(queries) == 1:
            returned.append(query)
    if len(returned) != 1:
        return None
    query = returned[0]
    if isinstance(query.get("metric"), Mapping):
        m = query["metric"]
        return _single(m.get("namespace"), m.get("metricName"), _stat(m), m.get("dimensions"), latency_ceiling_us=latency_ceiling_us, features=features)
    expression = query.get("expression")
    if not isinstance(expression, str) or "/" not in expression:
        return None
    used = {qid: m for qid, m in metrics.items() if re.search(rf"\b{re.escape(qid)}\b", expression)}
    errors = [m for m in used.values() if m.get("metricName") in ERROR_FLAGS]
    invocations = [m for m in used.values() if m.get("metricName") == "Invocations"]
    if len(errors) != 1 or len(invocations) != 1 or len(used) != 2:
        return None
    numerator, slash, _ = expression.partition("/")
    error_id = next(qid for qid, m in used.items() if m is errors[0])
    if not re.search(rf"\b{re.escape(error_id)}\b", numerator):
        return None  # invocations / errors is no error rate
    metric = errors[0]
    base = {"metric": metric.get("metricName"), "namespace": metric.get("namespace"), "dimensions": metric.get("dimensions") if isinstance(metric.get("dimensions"), Mapping) else {}}
    if _PERCENT.search(expression):
        return Watched(f"the {metric.get('metricName')} rate in percent of invocations (0-100)", 0.0, 100.0, **base)
    return Watched(f"the {metric.get('metricName')} rate as a share of invocations (0-1)", 0.0, 1.0, **base)


def never_fires(alarm: Any, *, latency_ceiling_us: float = ASYNC_TIMEOUT_SECONDS * 1e6, features: int | None = None) -> str | None:
    """Why ``alarm`` (a PolicyResource of a MetricAlarm) can never enter ALARM, or None."""
    props = plain(alarm.props)
    if not isinstance(props, dict):
        return None
    op = props.get("comparisonOperator")
    threshold = props.get("threshold")
    if op is UNKNOWN or threshold is UNKNOWN or props.get("metricQueries") is UNKNOWN:
        return None
    value = number(threshold)
    seen = watched(props, latency_ceiling_us=latency_ceiling_us, features=features)
    if seen is None or value is None or not isinstance(op, str):
        return None
    if op in _GREATER and seen.ceiling is not None:
        if (op == "GreaterThanThreshold" and value >= seen.ceiling) or (op == "GreaterThanOrEqualToThreshold" and value > seen.ceiling):
            sign = ">" if op == "GreaterThanThreshold" else ">="
            return f"it fires when {seen.what} is {sign} {value:g}, which it can never be"
    if op in _LESS and seen.floor is not None:
        if (op == "LessThanThreshold" and value <= seen.floor) or (op == "LessThanOrEqualToThreshold" and value < seen.floor):
            sign = "<" if op == "LessThanThreshold" else "<="
            return f"it fires when {seen.what} is {sign} {value:g}, which it can never be"
    if op in _LESS and seen.metric == "Invocations" and seen.namespace == SAGEMAKER_NAMESPACE:
        missing = props.get("treatMissingData") or "missing"
        if missing != "breaching":
            return (
                f"it watches for too few invocations but treats missing data as {missing!r}, and SageMaker publishes no "
                "Invocations datapoint when nothing is invoked, so it stays quiet exactly when traffic stops; set "
                "treat_missing_data='breaching'"
            )
    return None


def window_seconds(alarm: Any) -> float | None:
    """The shortest time in which ``alarm`` can enter ALARM: datapoints to alarm (default: the
    evaluation periods) x its period (metric math: its longest query period); None if unknown."""
    props = plain(alarm.props)
    if not isinstance(props, dict):
        return None
    periods = [number(props.get("period"))]
    for query in props.get("metricQueries") or []:
        if isinstance(query, Mapping):
            periods.append(number(query.get("period")))
            if isinstance(query.get("metric"), Mapping):
                periods.append(number(query["metric"].get("period")))
    known = [p for p in periods if p]
    points = number(props.get("datapointsToAlarm")) or number(props.get("evaluationPeriods"))
    if not known or not points:
        return None
    return max(known) * points


def latency_ceiling_us(endpoint_names: set[str], index: StackIndex) -> float:
    """The longest ModelLatency an endpoint named in ``endpoint_names`` can report, in
    microseconds: 60 s for real-time and serverless, 3600 s when it is asynchronous or not in the
    stack (only what certainly cannot be reached is judged)."""
    endpoints = [e for e in index.of_type(ENDPOINT_TYPE) if index.names(e) & endpoint_names]
    if not endpoints:
        return ASYNC_TIMEOUT_SECONDS * 1e6
    for endpoint in endpoints:
        configs = index.used_by(endpoint, ENDPOINT_CONFIG)
        if not configs or any(is_set(get(c.props, "asyncInferenceConfig")) for c in configs):
            return ASYNC_TIMEOUT_SECONDS * 1e6
    return REALTIME_TIMEOUT_SECONDS * 1e6
