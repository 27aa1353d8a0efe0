"""SageMaker jobs and pipelines as requests describe them: the steps of a pipeline definition, and
the compute and storage of every training, processing and transform job a resource defines."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from .documents import documents, nodes, pipeline_parameters, resolve
from .values import UNKNOWN, get, memo

__all__ = ["REGISTER_TYPES", "steps", "is_training_pipeline", "job_volumes", "jobs"]

REGISTER_TYPES = ("RegisterModel",)


def steps(definition: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], list[tuple[dict[str, Any], str]]]]:
    """Every step of a pipeline definition with the (condition step, branch) pairs it is nested in."""

    def walk(items: Any, nesting: list[tuple[dict[str, Any], str]]) -> Iterator[tuple[dict[str, Any], list]]:
        for step in items or []:
            if not isinstance(step, dict):
                continue
            yield step, nesting
            if step.get("Type") == "Condition":
                arguments = step.get("Arguments") or {}
                for branch in ("IfSteps", "ElseSteps"):
                    yield from walk(arguments.get(branch), [*nesting, (step, branch)])

    yield from walk(definition.get("Steps"), [])


def is_training_pipeline(props: Any) -> bool:
    """Whether a SageMaker pipeline trains or registers models (not, e.g., a drift check)."""
    raw = get(props, "pipelineDefinition")
    if not isinstance(raw, str):
        return raw is UNKNOWN
    try:
        definition = json.loads(raw)
    except ValueError:
        return False
    return isinstance(definition, dict) and any(
        s.get("Type") in ("Training", "Tuning", *REGISTER_TYPES) for s, _ in steps(definition)
    )


#: Where each kind of SageMaker job keeps its compute resources in a request (or pipeline step).
_JOB_RESOURCES = {
    ("ResourceConfig",): "training",
    ("ProcessingResources", "ClusterConfig"): "processing",
    ("TransformResources",): "transform",
}


def job_volumes(document: Any) -> Iterator[tuple[str, str, Mapping[str, Any], dict[str, Any]]]:
    """(path, use, resources block, pipeline parameters) of every training, processing and
    transform job in a JSON document (a pipeline definition, a scheduled CreateProcessingJob)."""
    yield from memo(document, "job_volumes", lambda: list(_job_volumes(document)))


def _job_volumes(document: Any) -> Iterator[tuple[str, str, Mapping[str, Any], dict[str, Any]]]:
    params = pipeline_parameters(document)
    for path, node in nodes(document):
        for keys, use in _JOB_RESOURCES.items():
            block = node.get(keys[0])
            if len(keys) > 1 and type(block) is dict:
                block = block.get(keys[1])
            if type(block) is dict:
                where = ".".join(keys)
                yield f"{path}.{where}" if path else where, use, block, params


#: Typed SageMaker job definitions: where their compute resources are, and their use.
_JOB_DEFINITIONS = {"aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": (("jobResources", "clusterConfig"), "processing")}


def jobs(resource: Any) -> Iterator[tuple[str, str, Any, Any]]:
    """(where, use, instance type, volume KMS key) of every SageMaker job a resource defines: in
    JSON documents (pipeline definitions, scheduled requests) and typed job definitions."""
    for prop, document in documents(resource.props):
        for path, use, block, params in job_volumes(document):
            yield f"{prop} {path}", use, resolve(block.get("InstanceType"), params), resolve(block.get("VolumeKmsKeyId"), params)
    typed = _JOB_DEFINITIONS.get(resource.resource_type)
    if typed:
        keys, use = typed
        block = get(resource.props, *keys)
        if block is not None and block is not UNKNOWN:
            yield ".".join(keys), use, get(block, "instanceType"), get(block, "volumeKmsKeyId")
