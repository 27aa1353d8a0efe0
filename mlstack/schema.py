"""The JSON Schema of a stack file, generated from the typed models (never written by hand)."""

from __future__ import annotations

from typing import Any

from .specs.stack import NAMESPACE, StackSpec

__all__ = ["stack_config_schema"]


def stack_config_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) for ``stacks/Pulumi.<team>-<env>.yaml``.

    The ``mlstack:*`` keys come from :class:`~mlstack.specs.stack.StackSpec`; keys of other
    namespaces (``aws:region``, ``kubernetes:context``) are allowed and left to their owners.
    """
    model = StackSpec.model_json_schema(by_alias=True, mode="validation")
    defs = model.pop("$defs", {})
    _accept_secure_leaves(defs)
    defs["SecureValue"] = {
        "type": "object",
        "description": "A value encrypted by `pulumi config set --secret` (never decrypted offline).",
        "properties": {"secure": {"type": "string", "description": "The ciphertext, as the Pulumi CLI wrote it."}},
        "required": ["secure"],
        "additionalProperties": False,
    }
    properties = {f"{NAMESPACE}:{key}": value for key, value in model.get("properties", {}).items()}
    required = [f"{NAMESPACE}:{key}" for key in model.get("required", [])]
    config = {
        "type": "object",
        "description": model.get("description", ""),
        "properties": {"aws:region": {"type": "string", "description": "The AWS region (default us-east-1 offline)."}, **properties},
        "required": required,
        "patternProperties": {rf"^(?!{NAMESPACE}:)[A-Za-z0-9_.-]+:.+$": {}},
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://mlstack.dev/schemas/stack-file.json",
        "title": "mlstack team stack file (stacks/Pulumi.<team>-<env>.yaml)",
        "type": "object",
        "properties": {
            "config": config,
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
            "environment": {},
        },
        "required": ["config"],
        "additionalProperties": False,
        "$defs": defs,
    }


def _accept_secure_leaves(node: Any) -> None:
    """Fields marked ``x-mlstack-secret`` take ``{secure: ...}`` leaves too, where
    ``pulumi config set --secret --path`` writes them (list items or the value itself)."""
    if isinstance(node, dict):
        for value in node.values():
            _accept_secure_leaves(value)
        if node.get("x-mlstack-secret"):
            secure = {"$ref": "#/$defs/SecureValue"}
            if node.get("type") == "array" and isinstance(node.get("items"), dict):
                node["items"] = {"anyOf": [node["items"], secure]}
    elif isinstance(node, list):
        for value in node:
            _accept_secure_leaves(value)
