"""What the rules would ask botocore and pulumi-aws at run time, recorded once for a published pack.

Two rules read facts from heavy packages: the instance-type rules take SageMaker's valid instance
types from botocore's service model (:func:`mlstack.catalog.instance_types`), and the lineage-tag
rule asks the pulumi-aws SDK whether a resource type takes tags (:func:`mlstack.lineage.is_taggable`).
A published pack installs neither (pulumi-aws alone is ~270 MB), so ``mlstack policy-pack build``
calls :func:`record` and writes the result beside this module; the pack's ``__main__.py`` calls
:func:`install_bundled` before it builds the ``PolicyPack``, and the two lookups answer from the
file. In a checkout (``policies/``, ``mlstack check``) nothing is installed and both stay live.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

__all__ = ["SNAPSHOT_FILE", "record", "install", "install_bundled", "taggable_types"]

#: The snapshot's file name, beside this module in a built pack.
SNAPSHOT_FILE = "_pack_snapshot.json"

# Resource types whose answer the build checks against lineage.is_taggable itself, so a change in
# the pulumi-aws SDK's source layout cannot silently empty or fill the recorded set.
_SENTINELS = (
    "aws:sagemaker/endpoint:Endpoint",
    "aws:s3/bucket:Bucket",
    "aws:kms/key:Key",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:appautoscaling/policy:Policy",
)

# A resource class registers itself with its type token: super(Endpoint, __self__).__init__('aws:...', ...)
_TOKEN = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*['\"](aws:[^'\"]+)['\"]")


def _args_takes_tags(source: str, name: str) -> bool:
    """Whether ``class <name>Args`` in a pulumi-aws module has a ``tags`` parameter in ``__init__``."""
    match = re.search(rf"^class {re.escape(name)}Args:\s*\n\s+def __init__\((.*?)\):\s*\n", source, re.S | re.M)
    return bool(match) and re.search(r"(?:^|[\s,*(])tags\s*:", match.group(1)) is not None


def taggable_types() -> list[str]:
    """Every pulumi-aws resource type :func:`mlstack.lineage.is_taggable` says takes tags.

    Read from the installed pulumi-aws SDK's source, not imported (importing all of it takes
    minutes): the type tokens its resource classes register, kept where the module and ``Args``
    class ``is_taggable`` would look at take ``tags``.
    """
    import importlib.util

    spec = importlib.util.find_spec("pulumi_aws")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pulumi-aws SDK is not installed; it is needed to record which resource types take tags")
    from pathlib import Path

    root = Path(next(iter(spec.submodule_search_locations)))
    tokens = {t for path in root.glob("*/*.py") for t in _TOKEN.findall(path.read_text(encoding="utf-8"))}
    found = set()
    for token in tokens:
        _, module, name = token.split(":")
        if "/" not in module:
            continue
        package, resource = module.split("/", 1)
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", resource).lower()
        path = root / package / f"{snake}.py"
        if path.is_file() and _args_takes_tags(path.read_text(encoding="utf-8"), name):
            found.add(token)
    from ...lineage import is_taggable

    wrong = [t for t in _SENTINELS if (t in found) != is_taggable(t)]
    if not tokens or wrong:
        raise RuntimeError(
            f"reading taggable resource types from {root} disagrees with mlstack.lineage.is_taggable for {wrong or 'every type'}; "
            "the pulumi-aws SDK's source layout changed: update mlstack.policy.kit.snapshot.taggable_types"
        )
    return sorted(found)


def record() -> dict[str, Any]:
    """The facts a built pack needs, from the botocore and pulumi-aws installed here."""
    from importlib.metadata import version

    from ... import catalog

    return {
        "instanceTypes": {use.value: sorted(catalog.instance_types(use)) for use in catalog.Use},
        "taggableTypes": taggable_types(),
        "recordedFrom": {"botocore": version("botocore"), "pulumi-aws": version("pulumi-aws")},
    }


def _replace(module: Any, name: str, function: Callable[[str], Any]) -> None:
    if not callable(getattr(module, name, None)):
        raise RuntimeError(f"{module.__name__}.{name} is gone: the pack's snapshot no longer matches mlstack's code")
    setattr(module, name, function)


def install(snapshot: Mapping[str, Any]) -> None:
    """Make the two lookups answer from ``snapshot`` (see :func:`record`) for the rest of the process."""
    from ... import catalog, lineage

    by_use = {catalog.Use(use): frozenset(types) for use, types in snapshot["instanceTypes"].items()}
    by_shape = {shape: by_use[use] for use, shape in catalog._ENUM_SHAPES.items()}
    taggable = frozenset(snapshot["taggableTypes"])
    _replace(catalog, "_enum", functools.cache(by_shape.__getitem__))
    _replace(lineage, "_is_taggable", taggable.__contains__)


def install_bundled() -> None:
    """:func:`install` the snapshot a pack build wrote beside this module."""
    bundled = resources.files(__package__).joinpath(SNAPSHOT_FILE)
    if not bundled.is_file():
        raise RuntimeError(f"{SNAPSHOT_FILE} is missing from mlstack/policy/kit/: build the pack with `mlstack policy-pack build`")
    install(json.loads(bundled.read_text(encoding="utf-8")))
