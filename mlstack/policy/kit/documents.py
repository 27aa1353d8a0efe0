"""JSON documents held as strings inside properties: a SageMaker pipeline definition, a scheduler
target's input, a state machine definition; and the parameters a pipeline definition declares."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from .values import UNKNOWN, memo, plain

__all__ = ["documents", "nodes", "pipeline_parameters", "resolve"]


def documents(props: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """JSON objects held as strings anywhere in the properties (a SageMaker pipeline definition,
    a scheduler target's input, a state machine definition), with the property path."""

    def walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
        if isinstance(value, str):
            text = value.lstrip()
            if text.startswith("{") and len(text) > 2:
                try:
                    yield path, json.loads(text)
                except ValueError:
                    return
        elif isinstance(value, Mapping):
            for key, item in value.items():
                yield from walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from walk(item, f"{path}[{i}]")

    yield from memo(props, "documents", lambda: list(walk(plain(props), "")))


def nodes(value: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict inside ``value`` (plain data, e.g. from :func:`plain` or JSON) with its path, depth first."""
    kind = type(value)
    if kind is dict:
        yield path, value
        for key, item in value.items():
            if type(item) in (dict, list):
                yield from nodes(item, f"{path}.{key}" if path else str(key))
    elif kind is list:
        for i, item in enumerate(value):
            if type(item) in (dict, list):
                yield from nodes(item, f"{path}[{i}]")


def pipeline_parameters(document: Any) -> dict[str, Any]:
    """Default values of a SageMaker pipeline definition's parameters, by name."""
    params = {}
    for p in (document.get("Parameters") or []) if isinstance(document, Mapping) else []:
        if isinstance(p, Mapping) and "Name" in p:
            params[p["Name"]] = p.get("DefaultValue")
    return params


def resolve(value: Any, params: Mapping[str, Any]) -> Any:
    """A pipeline value with ``{"Get": "Parameters.X"}`` replaced by X's default (None if none)."""
    if isinstance(value, Mapping) and set(value) == {"Get"} and isinstance(value["Get"], str):
        ref = value["Get"]
        if ref.startswith("Parameters."):
            return params.get(ref.removeprefix("Parameters."))
        return UNKNOWN  # a step property: known only when the pipeline runs
    if isinstance(value, Mapping) and any(k.startswith("Std:") for k in value):
        return UNKNOWN  # an expression (Join, JsonGet) evaluated when the pipeline runs
    return value
