"""``mlstack:monitors`` -> a :class:`~mlstack.components.Monitor` per entry on a SageMaker endpoint,
watching the endpoint it names and, for ``retrain`` without a ``pipelineArn``, starting the
model's TrainingPipeline; a :class:`~mlstack.components.monitor.prometheus.PrometheusAlerts`
(a PrometheusRule, through the endpoint's Kubernetes provider) per entry on a KServe endpoint.
Built last: monitors watch endpoints and start pipelines."""

from __future__ import annotations

from typing import Any, Mapping

import pulumi

from ..components import Monitor, MonitorArgs
from ..engine.declared import declare
from ..errors import ConfigError, Problem
from .context import StackContext, entry

__all__ = ["monitors_from_spec"]


def monitors_from_spec(ctx: StackContext, team: Any) -> dict[str, Any]:
    """The monitors of ``mlstack:monitors`` by endpoint name; a monitor of a deferred endpoint
    comes up with its endpoint, on the ``pulumi up`` after the first approval."""
    spec = ctx.spec
    endpoints: Mapping[str, Any] = team.endpoints
    pipelines: Mapping[str, Any] = team.pipelines
    monitors: dict[str, Monitor] = {}
    problems: list[Problem] = []
    deferred: Mapping[str, Any] = team.deferred_endpoints
    # The engine marks the whole key secret when any value in it is (pulumi config set
    # --secret --path mlstack:monitors[0]...): every subscription endpoint is then kept secret.
    secret = pulumi.runtime.is_config_secret("mlstack:monitors")
    for i, mon in enumerate(spec.monitors):
        endpoint = endpoints.get(mon.endpoint)
        if endpoint is None and mon.endpoint in deferred:
            continue
        if endpoint is None:
            problems.append(
                Problem(f"mlstack:monitors[{i}].endpoint", "names an endpoint this stack does not build", value=mon.endpoint, hint="declare it in mlstack:endpoints")
            )
            continue
        model = getattr(endpoint, "model_name", None)
        if getattr(getattr(endpoint, "spec", None), "is_kserve", False):
            from ..components.monitor.prometheus import PrometheusAlerts, PrometheusAlertsArgs

            with entry(f"mlstack:monitors[{i}]"):
                monitors[mon.endpoint] = PrometheusAlerts(
                    mon.endpoint,
                    PrometheusAlertsArgs(
                        settings=mon, service=endpoint, stack=ctx.stack,
                        tags=ctx.lineage.tags(model=model, model_version=str(endpoint.spec.model_version) if isinstance(endpoint.spec.model_version, int) else None),
                    ),
                    opts=pulumi.ResourceOptions(provider=endpoint.kubernetes_provider),
                )
            declare(monitors[mon.endpoint], f"mlstack:monitors[{i}]")
            continue
        pipeline = pipelines.get(model) if mon.retrain and not mon.retrain.pipeline_arn else None
        if mon.retrain and not mon.retrain.pipeline_arn and pipeline is None:
            problems.append(
                Problem(
                    f"mlstack:monitors[{i}].retrain",
                    f"the stack has no TrainingPipeline for model {model!r} (endpoint {mon.endpoint!r}) to start",
                    hint="declare the model's training pipeline or set retrain.pipelineArn",
                )
            )
            continue
        dataset = None
        gates: list[Any] = []
        try:
            dataset = spec.model(model).dataset if model else None
            gates = list(spec.model(model).gates or []) if model else []
        except KeyError:
            pass
        with entry(f"mlstack:monitors[{i}]"):
            monitors[mon.endpoint] = Monitor(
                mon.endpoint,
                MonitorArgs.from_spec(
                    mon,
                    endpoint=endpoint,
                    retrain_pipeline=pipeline,
                    model_gates=gates,
                    alarm_prefix=f"{ctx.stack}-{mon.endpoint}",
                    environment=spec.environment.value,
                    secret_notifications=secret,
                    tags=ctx.lineage.tags(
                        model=model,
                        dataset=dataset.uri if dataset else None,
                        dataset_version=dataset.version if dataset else None,
                    ),
                ),
                opts=ctx.options(),
            )
        declare(monitors[mon.endpoint], f"mlstack:monitors[{i}]")
    if problems:
        raise ConfigError(problems)
    return monitors
