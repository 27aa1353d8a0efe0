"""Autoscaling of an Endpoint's production variant: ``<name>-scaling`` (the scalable target,
``sagemaker:variant:DesiredInstanceCount``), ``<name>-scaling-invocations`` (target tracking of
SageMakerVariantInvocationsPerInstance) and, with a GPU target, ``<name>-scaling-gpu``."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from ...specs.endpoint import EndpointSpec
from .metrics import INSTANCE_NAMESPACE, EndpointMetrics

__all__ = ["autoscaling"]


def autoscaling(
    name: str, spec: EndpointSpec, *, endpoint: aws.sagemaker.Endpoint, endpoint_name: str, metrics: EndpointMetrics, tags: dict[str, str], parent: pulumi.Resource
) -> tuple[aws.appautoscaling.Target, list[aws.appautoscaling.Policy]]:
    """The scalable target of ``spec``'s production variant and its target-tracking policies."""
    scaling = spec.autoscaling
    assert scaling is not None
    variant = spec.variant_name
    child = pulumi.ResourceOptions(parent=parent)
    target = aws.appautoscaling.Target(
        f"{name}-scaling",
        service_namespace="sagemaker",
        scalable_dimension="sagemaker:variant:DesiredInstanceCount",
        resource_id=endpoint.name.apply(lambda ep: f"endpoint/{ep}/variant/{variant}"),
        min_capacity=scaling.min_capacity,
        max_capacity=scaling.max_capacity,
        tags=tags,
        opts=child,
    )

    policies: list[aws.appautoscaling.Policy] = []

    def policy(role: str, configuration) -> aws.appautoscaling.Policy:
        return aws.appautoscaling.Policy(
            f"{name}-scaling-{role}",
            name=f"{endpoint_name}-{role}",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=configuration,
            opts=child,
        )

    policies.append(
        policy(
            "invocations",
            aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=scaling.target_invocations_per_instance,
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="SageMakerVariantInvocationsPerInstance"
                ),
                scale_in_cooldown=scaling.scale_in_cooldown_seconds,
                scale_out_cooldown=scaling.scale_out_cooldown_seconds,
            ),
        )
    )
    if scaling.target_gpu_utilization_percent is not None:
        # GPUUtilization sums over an instance's GPUs (0-100 x GPUs): scale the per-GPU target.
        gpus = max(spec.instance_gpus, 1)
        policies.append(
            policy(
                "gpu",
                aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    target_value=scaling.target_gpu_utilization_percent * gpus,
                    customized_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationArgs(
                        namespace=INSTANCE_NAMESPACE,
                        metric_name="GPUUtilization",
                        dimensions=[
                            aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationDimensionArgs(name=k, value=v)
                            for k, v in metrics.dimensions(variant).items()
                        ],
                        statistic="Average",
                    ),
                    scale_in_cooldown=scaling.scale_in_cooldown_seconds,
                    scale_out_cooldown=scaling.scale_out_cooldown_seconds,
                ),
            )
        )
    return target, policies
