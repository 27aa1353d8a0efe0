"""Lineage tags: what every AWS resource mlstack creates says about where it came from.

Tags are passed explicitly to every child resource. Provider ``default_tags`` and resource
transforms would be shorter, but they are invisible to the offline plan, to ``mlstack check``
and to CrossGuard, so an auditor could not see them before deployment.
"""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .types import LINEAGE_PREFIX

__all__ = [
    "Lineage",
    "TEAM",
    "ENVIRONMENT",
    "STACK",
    "GIT_COMMIT",
    "DATASET",
    "DATASET_VERSION",
    "MODEL",
    "MODEL_VERSION",
    "REQUIRED_KEYS",
    "detect_git_commit",
    "is_taggable",
]

TEAM = f"{LINEAGE_PREFIX}team"
ENVIRONMENT = f"{LINEAGE_PREFIX}environment"
STACK = f"{LINEAGE_PREFIX}stack"
GIT_COMMIT = f"{LINEAGE_PREFIX}git-commit"
DATASET = f"{LINEAGE_PREFIX}dataset"
DATASET_VERSION = f"{LINEAGE_PREFIX}dataset-version"
MODEL = f"{LINEAGE_PREFIX}model"
MODEL_VERSION = f"{LINEAGE_PREFIX}model-version"

#: Keys every taggable AWS resource carries.
REQUIRED_KEYS: tuple[str, ...] = (TEAM, ENVIRONMENT, STACK, GIT_COMMIT)

UNKNOWN_COMMIT = "unknown"
GIT_COMMIT_ENV = "MLSTACK_GIT_COMMIT"


def detect_git_commit(directory: str | os.PathLike[str] | None = None) -> str:
    """The commit of the repository holding ``directory``, ``$MLSTACK_GIT_COMMIT`` if set,
    else ``"unknown"`` (outside git, or git not installed)."""
    override = os.environ.get(GIT_COMMIT_ENV, "").strip()
    if override:
        return override
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(directory) if directory else None,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN_COMMIT
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else UNKNOWN_COMMIT


@dataclass(frozen=True)
class Lineage:
    """The lineage of one stack, rendered as tags.

    >>> lineage = Lineage(team="churn", environment="prod", stack="churn-prod",
    ...                   git_commit="abc123", user_tags={"owner": "ml-platform"})
    >>> lineage.tags(dataset="s3://data/churn", model_version="7")["mlstack:model-version"]
    '7'
    """

    team: str
    environment: str
    stack: str
    git_commit: str = UNKNOWN_COMMIT
    user_tags: Mapping[str, str] = field(default_factory=dict)

    def tags(
        self,
        *,
        dataset: str | None = None,
        dataset_version: str | None = None,
        model: str | None = None,
        model_version: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Tags for one resource: user tags, then lineage (which user tags cannot override)."""
        tags = dict(self.user_tags)
        if extra:
            tags.update(extra)
        tags.update(
            {
                TEAM: self.team,
                ENVIRONMENT: self.environment,
                STACK: self.stack,
                GIT_COMMIT: self.git_commit or UNKNOWN_COMMIT,
            }
        )
        for key, value in (
            (DATASET, dataset),
            (DATASET_VERSION, dataset_version),
            (MODEL, model),
            (MODEL_VERSION, model_version),
        ):
            if value:
                tags[key] = str(value)
        return tags


def is_taggable(type_token: str) -> bool:
    """Whether an AWS resource type accepts tags, read from the pulumi-aws SDK's Args class
    (``aws:sagemaker/modelPackageGroup:ModelPackageGroup`` -> ``ModelPackageGroupArgs(tags=...)``)."""
    return _is_taggable(type_token)


@functools.cache
def _is_taggable(type_token: str) -> bool:
    import importlib
    import inspect
    import re

    try:
        provider, module, name = type_token.split(":")
    except ValueError:
        return False
    if provider != "aws" or "/" not in module:
        return False
    package, resource = module.split("/", 1)
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", resource).lower()
    try:
        # pulumi-aws loads its packages lazily: importing a submodule before the package has run
        # leaves the package without its resource classes (pulumi_aws.s3.Bucket would be missing).
        getattr(importlib.import_module(f"pulumi_aws.{package}"), f"{name}Args", None)  # runs the package
        mod = importlib.import_module(f"pulumi_aws.{package}.{snake}")
        args_class = getattr(mod, f"{name}Args")
    except (ImportError, AttributeError):
        return False
    return "tags" in inspect.signature(args_class.__init__).parameters
