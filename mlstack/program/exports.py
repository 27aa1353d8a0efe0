"""The stack outputs a team stack exports: what each component is called live and where it is.

``mlstack verify`` reads :data:`OUTPUT_KEY` and :data:`DEFERRED_KEY` (``pulumi stack output
--json``); the others are for people and other stacks::

    registries         {model: {groupName, arn, approvalMode}}
    featureGroups      {group: {featureGroupName, arn}}
    pipelines          {model: {pipelineName, arn, triggerRoleArn, artifactsUri, keyArn}}  (artifactsUri and
                       keyArn: what a reader account's stack gives as artifactsUri and source.artifactsKeyArn)
    endpoints          {endpoint: {backend, endpointName, arn, endpointConfigName, variantNames,
                                   alarmNames, dataCaptureUri, modelVersion}  (SageMaker)
                                  {backend, serviceName, namespace}           (KServe)}
    deferredEndpoints  {endpoint: {model, modelPackageGroup, waitsFor}}
    monitors           {endpoint: {alarms, topicArn}}
    auditLog           {bucket, signingKeyArn, signingKeyAlias}  (with mlstack:audit)
"""

from __future__ import annotations

from typing import Any

import pulumi

__all__ = ["OUTPUT_KEY", "DEFERRED_KEY", "export_registries", "export_training", "export_endpoints", "export_monitors", "export_audit_log"]

#: The stack output that maps endpoint names to their live names.
OUTPUT_KEY = "endpoints"
#: The stack output naming the endpoints a deployment left out because their model has no
#: Approved version yet, and the model package group each waits for.
DEFERRED_KEY = "deferredEndpoints"


def export_registries(team: Any) -> None:
    pulumi.export(
        "registries",
        {name: {"groupName": r.group_name, "arn": r.arn, "approvalMode": r.approval_mode.value} for name, r in team.registries.items()},
    )


def export_training(team: Any) -> None:
    """The feature groups (with a feature store) and the training pipelines (when any)."""
    if team.feature_store is not None:
        pulumi.export(
            "featureGroups",
            {name: {"featureGroupName": g.feature_group_name, "arn": g.arn} for name, g in team.feature_groups.items()},
        )
    if team.pipelines:
        pulumi.export(
            "pipelines",
            {
                name: {
                    "pipelineName": p.pipeline_name, "arn": p.arn, "triggerRoleArn": p.trigger_role_arn,
                    "artifactsUri": p.models_uri, "keyArn": p.key_arn,
                }
                for name, p in team.pipelines.items()
            },
        )


def export_endpoints(team: Any) -> None:
    pulumi.export(OUTPUT_KEY, {name: _endpoint(component) for name, component in team.endpoints.items()})
    pulumi.export(DEFERRED_KEY, team.deferred_endpoints)


def export_monitors(team: Any) -> None:
    pulumi.export("monitors", {name: _monitor(m) for name, m in team.monitors.items()})


def _monitor(monitor: Any) -> dict[str, Any]:
    if hasattr(monitor, "rule_name"):  # PrometheusAlerts of a KServe endpoint
        return {"alerts": monitor.alert_names, "prometheusRule": monitor.rule_name, "namespace": monitor.namespace}
    return {"alarms": monitor.alarm_names, "topicArn": monitor.topic_arn}


def _endpoint(component: Any) -> dict[str, Any]:
    if component.spec.is_kserve:
        return {"backend": "kserve", "serviceName": component.service_name, "namespace": component.namespace}
    return {
        "backend": "sagemaker",
        "endpointName": component.endpoint_name,
        "arn": component.arn,
        "endpointConfigName": component.endpoint_config_name,
        "variantNames": component.variant_names,
        "alarmNames": component.alarm_names,
        "dataCaptureUri": component.data_capture_uri,
        "modelVersion": component.args.model_version,
    }


def export_audit_log(team: Any) -> None:
    log = team.audit_log
    pulumi.export("auditLog", {"bucket": log.bucket_name, "signingKeyArn": log.signing_key_arn, "signingKeyAlias": log.args.key_alias})
