"""How an Endpoint rolls a new version out and back: the deployment config (blue/green ALL_AT_ONCE,
CANARY, LINEAR, or rolling) and the two alarms that roll it back (error rate, model latency).

Children of the Endpoint: ``<name>-errors`` and ``<name>-latency``, named
``<endpoint>-5xx-error-rate`` and ``<endpoint>-<statistic>-model-latency`` (deterministic: the
endpoint's role may read exactly them, and a Monitor or the policy pack finds them).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from ...specs.endpoint import EndpointSpec
from ...specs.rollout import PROVIDER_WAIT_SECONDS, RolloutType
from .metrics import SAGEMAKER_NAMESPACE

__all__ = ["rollback_alarm_names", "rollback_alarms", "deployment_config"]


def rollback_alarm_names(endpoint_name: str, latency_statistic: str = "p99") -> list[str]:
    """The names of the two rollback alarms mlstack creates for an endpoint."""
    return [f"{endpoint_name}-5xx-error-rate", f"{endpoint_name}-{latency_statistic}-model-latency"]


def rollback_alarms(
    name: str, spec: EndpointSpec, *, endpoint_name: str, alarm_names: list[str], dimensions: dict[str, str], tags: dict[str, str], parent: pulumi.Resource
) -> tuple[aws.cloudwatch.MetricAlarm, aws.cloudwatch.MetricAlarm]:
    """The error-rate and latency alarms a deployment in progress rolls back on, scoped to the
    endpoint and its production variant (``dimensions``)."""
    rollout = spec.rollout
    child = pulumi.ResourceOptions(parent=parent)
    errors = aws.cloudwatch.MetricAlarm(
        f"{name}-errors",
        name=alarm_names[0],
        alarm_description=(
            f"mlstack rollback alarm: more than {rollout.max_error_rate_percent:g}% of requests to {endpoint_name} "
            "answer 5xx; a deployment in progress rolls back"
        ),
        namespace=SAGEMAKER_NAMESPACE,
        metric_name="Invocation5XXErrors",
        dimensions=dimensions,
        statistic="Average",  # each request counts 1 (5xx) or 0: the average is the error rate
        period=60,
        evaluation_periods=3,
        datapoints_to_alarm=2,
        threshold=rollout.max_error_rate_percent / 100,
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
        tags=tags,
        opts=child,
    )
    latency = aws.cloudwatch.MetricAlarm(
        f"{name}-latency",
        name=alarm_names[1],
        alarm_description=(
            f"mlstack rollback alarm: {rollout.latency_statistic} model latency of {endpoint_name} above "
            f"{rollout.max_latency_ms:g} ms; a deployment in progress rolls back"
        ),
        namespace=SAGEMAKER_NAMESPACE,
        metric_name="ModelLatency",
        dimensions=dimensions,
        extended_statistic=rollout.latency_statistic,
        period=60,
        evaluation_periods=3,
        datapoints_to_alarm=2,
        threshold=rollout.max_latency_ms * 1000,  # ModelLatency is in microseconds
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
        tags=tags,
        opts=child,
    )
    return errors, latency


def deployment_config(spec: EndpointSpec, mlstack_alarms: list) -> aws.sagemaker.EndpointDeploymentConfigArgs:
    """The endpoint's deployment config: the rollout policy and auto-rollback on every alarm.

    MaximumExecutionTimeoutInSeconds defaults to PROVIDER_WAIT_SECONDS: a rollout that hangs is
    stopped (and rolled back) by SageMaker by the time the AWS provider stops waiting, so
    ``pulumi up`` fails on the RollingBack status instead of leaving an update running behind it.
    The spec has already rejected rollouts whose worst case does not fit (``rollout_duration``).
    """
    rollout = spec.rollout
    timeout = rollout.maximum_execution_timeout_seconds or PROVIDER_WAIT_SECONDS
    alarms = [*mlstack_alarms, *rollout.alarms]
    rollback = aws.sagemaker.EndpointDeploymentConfigAutoRollbackConfigurationArgs(
        alarms=[aws.sagemaker.EndpointDeploymentConfigAutoRollbackConfigurationAlarmArgs(alarm_name=a) for a in alarms]
    )
    size = rollout.effective_size()
    if rollout.type is RolloutType.ROLLING:
        assert size is not None
        return aws.sagemaker.EndpointDeploymentConfigArgs(
            auto_rollback_configuration=rollback,
            rolling_update_policy=aws.sagemaker.EndpointDeploymentConfigRollingUpdatePolicyArgs(
                maximum_batch_size=aws.sagemaker.EndpointDeploymentConfigRollingUpdatePolicyMaximumBatchSizeArgs(type=size.type.value, value=size.value),
                wait_interval_in_seconds=rollout.wait_interval_seconds,
                maximum_execution_timeout_in_seconds=timeout,
            ),
        )
    routing: dict[str, Any] = {"type": rollout.type.value, "wait_interval_in_seconds": rollout.wait_interval_seconds}
    if rollout.type is RolloutType.CANARY:
        assert size is not None
        routing["canary_size"] = aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationCanarySizeArgs(type=size.type.value, value=size.value)
    elif rollout.type is RolloutType.LINEAR:
        assert size is not None
        routing["linear_step_size"] = aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationLinearStepSizeArgs(type=size.type.value, value=size.value)
    return aws.sagemaker.EndpointDeploymentConfigArgs(
        auto_rollback_configuration=rollback,
        blue_green_update_policy=aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyArgs(
            traffic_routing_configuration=aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyTrafficRoutingConfigurationArgs(**routing),
            termination_wait_in_seconds=rollout.termination_wait_seconds,
            maximum_execution_timeout_in_seconds=timeout,
        ),
    )
