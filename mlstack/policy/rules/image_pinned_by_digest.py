"""Checks that prod runs exactly the container images that were reviewed: every image is pinned by
digest (``mlstack-image-pinned-by-digest``)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity

from ..kit.documents import documents, pipeline_parameters, resolve
from ..kit.resource_types import KSERVE_TYPE
from ..kit.settings import applies, environments_property
from ..kit.stack import environment_of
from ..kit.values import UNKNOWN, plain

__all__ = ["POLICY", "NAME", "images", "DIGEST"]

NAME = "mlstack-image-pinned-by-digest"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
#: Keys that hold a container image reference, in pulumi-aws inputs, Kubernetes specs and SageMaker requests.
IMAGE_KEYS = frozenset({"image", "imageUri", "Image", "ImageUri", "TrainingImage", "InferenceImage"})


def images(value: Any, path: str = "", params: Mapping[str, Any] | None = None) -> Iterator[tuple[str, Any]]:
    """(path, image reference) of every container image named in ``value`` (plain data)."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if key in IMAGE_KEYS and (type(item) not in (dict, list) or (type(item) is dict and "Get" in item)):
                yield (f"{path}.{key}" if path else str(key)), resolve(item, params or {})
            elif type(item) in (dict, list):
                yield from images(item, f"{path}.{key}" if path else str(key), params)
    elif kind is list:
        for i, item in enumerate(value):
            if type(item) in (dict, list):
                yield from images(item, f"{path}[{i}]", params)


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not (args.resource_type.startswith("aws:") or args.resource_type == KSERVE_TYPE or args.resource_type.startswith("kubernetes:")):
        return
    env = environment_of(args.props, args.stack_tags)
    if not applies(args.get_config(), env):
        return
    found = list(images(plain(args.props)))
    for prop, document in documents(args.props):
        found.extend((f"{prop} {path}", image) for path, image in images(document, "", pipeline_parameters(document)))
    for where, image in found:
        if image is UNKNOWN or image is None:
            continue
        if not isinstance(image, str) or not DIGEST.search(image):
            report_violation(
                f"container image {image!r} at {where} must be pinned by digest in {env} (<repository>@sha256:<64 hex>), "
                "so the image that runs is the one that was tested; resolve the tag to its digest (e.g. `aws ecr "
                "describe-images`) and reference repository@sha256:<digest>.",
                None,
            )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description="Checks that every container image (models, pipeline steps, jobs, KServe) is pinned by digest in prod.",
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["supply-chain"],
    display_name="Container images pinned by digest",
    config_schema=PolicyConfigSchema(
        properties={"environments": environments_property(["prod"], "container images must be pinned by digest")}
    ),
    remediation_steps="Reference images as <repository>@sha256:<digest>.",
)
