"""Strict checks of generated Kubernetes objects against the CRD schema of their kind.

Kubernetes does not type-check a custom resource's fields beyond its CRD's ``openAPIV3Schema``,
and the API server silently *prunes* fields that schema does not declare: a misspelt field
vanishes without an error. :class:`CrdSchema` therefore validates an object against the schema
with every object node closed (``additionalProperties: false`` wherever the schema lists
``properties`` and neither allows extra keys nor ``x-kubernetes-preserve-unknown-fields``), so an
undeclared field is an error here instead of a silent loss there.

Example::

    PROMETHEUS_RULE = CrdSchema(Path(".../prometheusrule-v1.schema.json"), kind="PrometheusRule",
                                source="prometheus-operator's CRD")
    PROMETHEUS_RULE.validate(document)     # raises ConfigError naming every problem
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Problem

__all__ = ["CrdSchema"]


def _tighten(node: Any) -> None:
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        for value in node.values():
            _tighten(value)
    elif isinstance(node, list):
        for item in node:
            _tighten(item)


class CrdSchema:
    """The ``openAPIV3Schema`` of one CRD version (a JSON file), applied strictly."""

    def __init__(self, path: Path, *, kind: str, source: str) -> None:
        self.path = path
        self.kind = kind
        self.source = source
        """Whose schema it is, for messages ("KServe's schema")."""

    @functools.cached_property
    def strict_schema(self) -> dict[str, Any]:
        schema = copy.deepcopy(json.loads(self.path.read_text(encoding="utf-8")))
        _tighten(schema)
        return schema

    @functools.cached_property
    def _validator(self) -> Any:
        import jsonschema

        return jsonschema.Draft7Validator(self.strict_schema)

    def problems(self, document: dict[str, Any]) -> list[Problem]:
        """Every way ``document`` departs from the schema, each at its key path."""
        name = (document.get("metadata") or {}).get("name", "?") if isinstance(document, dict) else "?"
        problems = []
        for error in sorted(self._validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]):
            where = ".".join(str(p) for p in error.absolute_path) or "(root)"
            message = error.message
            if error.validator == "additionalProperties":
                message += f"; {self.source} does not declare it, so the API server would drop it silently"
            problems.append(Problem(f"{self.kind} {name}: {where}", message))
        return problems

    def validate(self, document: dict[str, Any]) -> None:
        """Raise ConfigError listing every problem of ``document``; return when it matches."""
        problems = self.problems(document)
        if problems:
            raise ConfigError(problems, title=f"{self.kind} does not match {self.source}")
