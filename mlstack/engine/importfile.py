"""The file ``pulumi import --file`` reads, so a stack's first ``pulumi up`` adopts what exists.

Teams arrive with SageMaker endpoints, model package groups and feature groups made by hand. A
stack that declares them under the same physical names would collide on its first
``pulumi up`` (AWS refuses to create a second one). Importing them first puts them in the
stack's state under the URNs the program will register, so the update that follows changes them
in place.

The format is Pulumi's own (pulumi/pulumi ``pkg/cmd/pulumi/operations/import.go``: ``importFile``
and ``importSpec``, read by ``readImportFile`` and checked by ``parseImportFile``)::

    {"nameTable": {name: URN},                       # resources already in the state (unused here)
     "resources": [{"type", "name", "id",            # name: a handle within the file
                    "parent",                        # the handle of another entry (or of nameTable)
                    "logicalName",                   # the resource's Pulumi name (the URN's last part)
                    "component"}]}                   # a component: no id, created in the state

``parseImportFile`` computes each URN from the stack, the project, the parent's qualified type,
the type and the logical name; it must be the URN the program registers, so each resource to
adopt comes with its ancestor components (``component: true``). The AWS id of each type is what
the pulumi-aws docs give for ``pulumi import`` (its name; see ``pulumi_aws/sagemaker/endpoint.py``,
``model_package_group.py``, ``feature_group.py``), taken from the planned inputs, which carry
the names the stack derives from what it declares.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import UsageError

__all__ = ["ADOPTABLE", "import_file", "MAX_NAME"]

#: Resource type -> the input holding the AWS id `pulumi import` takes for it.
ADOPTABLE: dict[str, str] = {
    "aws:sagemaker/endpoint:Endpoint": "name",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": "modelPackageGroupName",
    "aws:sagemaker/featureGroup:FeatureGroup": "featureGroupName",
}
MAX_NAME = 256


def _logical_name(urn: str) -> str:
    return urn.split("::", 3)[3]


def import_file(plan: Any, *, types: Iterable[str] = tuple(ADOPTABLE)) -> dict[str, Any]:
    """The import file adopting every resource of ``types`` the plan declares.

    Raises :class:`UsageError` when the plan declares none, or when a resource's AWS name is not
    a plain string in the plan (it would be known only at deployment).
    """
    wanted = set(types)
    by_urn = {r.urn: r for r in plan.resources}
    adopt = [r for r in plan.resources if r.type in wanted]
    if not adopt:
        names = ", ".join(sorted(wanted))
        raise UsageError(f"stack {plan.stack!r} declares no resource to adopt ({names}); no import file written")
    problems = []
    for r in adopt:
        value = r.inputs.get(ADOPTABLE[r.type])
        if not isinstance(value, str) or not value or len(value) > MAX_NAME:
            problems.append(f"{r.urn}: its AWS name ({ADOPTABLE[r.type]}) is not known before deployment (got {value!r})")
    if problems:
        raise UsageError("cannot write the import file: " + "; ".join(problems))

    # Every ancestor of a resource to adopt, outermost first, each once.
    needed: list[str] = []
    for r in adopt:
        chain = []
        parent = r.parent
        while parent and parent in by_urn:
            chain.append(parent)
            parent = by_urn[parent].parent
        for urn in reversed(chain):
            if urn not in needed:
                needed.append(urn)
    order = [u for u in (r.urn for r in plan.resources) if u in needed or u in {a.urn for a in adopt}]

    # Handles: the logical name, made unique with the type where two share it (an Endpoint and
    # its Monitor are both named after the endpoint).
    logical = {urn: _logical_name(urn) for urn in order}
    counts: dict[str, int] = {}
    for name in logical.values():
        counts[name] = counts.get(name, 0) + 1
    handle = {}
    for urn in order:
        name = logical[urn]
        kind = by_urn[urn].type.rsplit(":", 1)[-1]
        candidate = name if counts[name] == 1 else f"{name}-{kind}"
        while candidate in handle.values():
            candidate += "-1"
        handle[urn] = candidate

    resources = []
    for urn in order:
        r = by_urn[urn]
        spec: dict[str, Any] = {"type": r.type, "name": handle[urn], "logicalName": logical[urn]}
        if r.parent and r.parent in by_urn:
            spec["parent"] = handle[r.parent]
        if urn in needed:
            spec["component"] = True
        else:
            spec["id"] = r.inputs[ADOPTABLE[r.type]]
        resources.append(spec)
    return {"nameTable": {}, "resources": resources}
