"""``mlstack lineage --live``: the deployed lineage, read with boto3.

Added to the offline graph: each model's Approved versions (newest first, at most
:data:`MAX_VERSIONS` per model) with what their registration recorded in customer metadata —
``mlstack:dataset`` and ``mlstack:dataset-version``, ``mlstack:git-commit``,
``mlstack:pipeline-execution``, ``mlstack:training-job`` and ``mlstack:mlflow-run-id``, as the
TrainingPipeline writes them (:mod:`mlstack.components.training.definition`) — and, for every
SageMaker endpoint of the stack, the endpoint config it runs and the model package each of its
variants serves (DescribeEndpoint -> DescribeEndpointConfig -> DescribeModel). A variant serving
a version that is not Approved is drawn too, and said so.

Answers are checked as ``mlstack promote`` checks them (:mod:`mlstack.ops.registry`): an answer
that is not what SageMaker's API promises stops the command (exit 1) rather than drawing a
lineage that is not there.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

from ..ops.aws import MalformedResponse, is_not_found, unreadable_answers
from ..ops.registry import describe_group, describe_package, iter_versions, model_version, package_group
from .graph import LineageGraph
from .offline import _dataset

__all__ = ["add_live", "MAX_VERSIONS", "METADATA_KEYS"]

#: Approved versions drawn per model, newest first.
MAX_VERSIONS = 20
#: Customer metadata the lineage reads -> node attribute.
METADATA_KEYS = {
    "mlstack:dataset": "dataset",
    "mlstack:dataset-version": "datasetVersion",
    "mlstack:git-commit": "gitCommit",
    "mlstack:pipeline-execution": "pipelineExecution",
    "mlstack:training-job": "trainingJob",
    "mlstack:mlflow-run-id": "mlflowRunId",
}
_EXECUTION = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:pipeline/(?P<pipeline>[A-Za-z0-9-]{1,256})/execution/(?P<id>[A-Za-z0-9]{1,64})$")


def _text(value: Any, where: str) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 2048:
        raise MalformedResponse(f"SageMaker answered {where} that is not a short text ({type(value).__name__})")
    return value


def add_live(graph: LineageGraph, aws: Any, stack: Any) -> None:
    """Add the registry's Approved versions and what each endpoint serves to ``graph``."""
    graph.live = True
    spec = stack.spec
    client = aws.client("sagemaker")
    for model in spec.models:
        group = spec.group_name(model.name)
        registry = f"registry:{group}"
        if describe_group(client, group) is None:
            graph.notes.append(f"model package group {group} does not exist in {aws.region} (not deployed yet)")
            continue
        shown = 0
        for summary in iter_versions(client, group, status="Approved"):
            if shown == MAX_VERSIONS:
                graph.notes.append(f"{group}: only the newest {MAX_VERSIONS} Approved versions are drawn")
                break
            shown += 1
            _version(graph, client, group, registry, summary["ModelPackageArn"], approved=True)
        if shown == 0:
            graph.notes.append(f"{group} has no Approved version yet")
    for endpoint in spec.endpoints:
        if endpoint.is_kserve:
            graph.notes.append(f"endpoint {endpoint.name}: KServe endpoints are not read live")
            continue
        _endpoint(graph, client, spec, endpoint, aws.region)


def _version(graph: LineageGraph, client: Any, group: str, registry: str, arn: str, *, approved: bool) -> str:
    package = describe_package(client, arn)
    number = model_version(package)
    status = package.get("ModelApprovalStatus")
    metadata = package.get("CustomerMetadataProperties") or {}
    if not isinstance(metadata, Mapping):
        raise MalformedResponse(f"SageMaker DescribeModelPackage for {arn} answered CustomerMetadataProperties that are not a map")
    attributes = {attr: _text(metadata.get(key), f"{key} of {arn}") for key, attr in METADATA_KEYS.items()}
    node = graph.add("version", f"{group}/{number}", f"{group} v{number} ({status})", arn=arn, approvalStatus=status, **attributes)
    graph.link(registry, node, "Approved" if status == "Approved" else str(status))
    if attributes["dataset"]:
        graph.link(_dataset(graph, attributes["dataset"], attributes["datasetVersion"]), node, "trained on")
    execution = _EXECUTION.match(attributes["pipelineExecution"] or "")
    if execution:
        pipeline = graph.add("pipeline", execution["pipeline"], f"training pipeline {execution['pipeline']}")
        graph.link(pipeline, node, f"execution {execution['id']}")
    return node


def _endpoint(graph: LineageGraph, client: Any, spec: Any, endpoint: Any, region: str) -> None:
    from botocore.exceptions import ClientError

    name = spec.endpoint_name(endpoint.name)
    node = graph.add("endpoint", endpoint.name, f"endpoint {name}")
    try:
        with unreadable_answers("SageMaker DescribeEndpoint"):
            live = client.describe_endpoint(EndpointName=name)
    except ClientError as exc:
        if not is_not_found(exc):
            raise
        graph.nodes[node].attributes["liveStatus"] = "not deployed"
        graph.notes.append(f"endpoint {name} does not exist in {region}")
        return
    config = _text(live.get("EndpointConfigName"), f"the EndpointConfigName of endpoint {name}")
    if not config:
        raise MalformedResponse(f"SageMaker DescribeEndpoint for {name} answered without an EndpointConfigName")
    graph.nodes[node].attributes.update({"liveEndpointConfig": config, "liveStatus": _text(live.get("EndpointStatus"), f"the status of {name}")})
    with unreadable_answers("SageMaker DescribeEndpointConfig"):
        described = client.describe_endpoint_config(EndpointConfigName=config)
    variants = [*(described.get("ProductionVariants") or []), *(described.get("ShadowProductionVariants") or [])]
    if not variants:
        raise MalformedResponse(f"SageMaker DescribeEndpointConfig for {config} answered no production variants")
    shadow = {id(v) for v in described.get("ShadowProductionVariants") or []}
    for variant in variants:
        if not isinstance(variant, Mapping):
            raise MalformedResponse(f"SageMaker DescribeEndpointConfig for {config} answered a variant that is not an object")
        variant_name = _text(variant.get("VariantName"), f"a variant name of {config}")
        model_name = _text(variant.get("ModelName"), f"the model of variant {variant_name}")
        if not model_name:
            continue  # a variant without a SageMaker model (inference components) names no package
        with unreadable_answers("SageMaker DescribeModel"):
            model = client.describe_model(ModelName=model_name)
        containers = [c for c in [model.get("PrimaryContainer"), *(model.get("Containers") or [])] if isinstance(c, Mapping)]
        packages = [_text(c.get("ModelPackageName"), f"the model package of model {model_name}") for c in containers]
        relation = f"config {config}, {'shadow ' if id(variant) in shadow else ''}variant {variant_name}"
        for arn in filter(None, packages):
            group = package_group(arn)
            if group is None:
                continue
            version_node = f"version:{group}/{arn.rsplit('/', 1)[1]}"
            if version_node not in graph.nodes:
                # Served but not among the Approved versions drawn: show it with its real status.
                version_node = _version(graph, client, group, f"registry:{group}", arn, approved=False)
            graph.link(version_node, node, relation)
