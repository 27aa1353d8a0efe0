"""The JSON Schema of the ``mlstack:*`` keys, walked by key path."""

from __future__ import annotations

import functools

from ..specs.stack import StackSpec

@functools.cache
def stack_schema() -> dict:
    return StackSpec.model_json_schema(by_alias=True)


def schema_options(node: dict, defs: dict) -> list[dict]:
    """The alternatives a schema node allows, references resolved."""
    if "$ref" in node:
        return schema_options(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    for key in ("anyOf", "oneOf"):
        if key in node:
            return [option for alternative in node[key] for option in schema_options(alternative, defs)]
    if len(node.get("allOf", ())) == 1:
        return schema_options(node["allOf"][0], defs)
    return [node]


def node_at(schema: dict, loc: tuple) -> dict | None:
    defs = schema.get("$defs", {})

    def deref(node: dict) -> dict:
        while "$ref" in node:
            node = defs[node["$ref"].split("/")[-1]]
        for key in ("anyOf", "allOf"):
            if key in node:
                for option in node[key]:
                    option = deref(option)
                    if option.get("type") != "null":
                        return option
        return node

    node = deref(schema)
    for part in loc:
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            node = deref(node.get("items", {}))
        elif "properties" in node and part in node["properties"]:
            node = deref(node["properties"][part])
        elif isinstance(node.get("additionalProperties"), dict):
            node = deref(node["additionalProperties"])
        else:
            return None
    return node


def keys_at(schema: dict, loc: tuple) -> list[str]:
    node = node_at(schema, loc)
    return sorted(node.get("properties", {})) if node else []
