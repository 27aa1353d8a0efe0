"""Lineage tags: what every AWS resource mlstack creates says about where it came from.

Tags are passed explicitly to every child resource. Provider ``default_tags`` and resource
transforms would be shorter, but they are invisible to the offline plan, to ``mlstack check``
and to CrossGuard, so an auditor could not see them before deployment.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Mapping, Optional

from pydantic import AfterValidator

from . import cache
from .errors import ConfigError, Problem
from .specs.base import LINEAGE_PREFIX

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
    "GitCommit",
    "commit_problem",
    "MAX_TAGS",
    "tag_budget_problems",
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

# A commit as git names it: lower-case hex, abbreviated to no fewer than 4 digits (git's
# minimum), or in full (40 digits, 64 in SHA-256 repositories).
_COMMIT = re.compile(r"[0-9a-f]{4,40}|[0-9a-f]{64}")
_COMMIT_HINT = "give the commit's hash as `git rev-parse HEAD` prints it"


def commit_problem(value: str) -> Optional[str]:
    """Why ``value`` cannot be recorded as the stack repository's commit, or None.

    A commit given explicitly (``mlstack:gitCommit``, ``$MLSTACK_GIT_COMMIT``) is a hex hash;
    ``unknown`` is what mlstack records itself when it finds no git repository, never a value
    to give: lineage that says "unknown" on purpose is no lineage.
    """
    if not value.strip():
        return f"is empty; {_COMMIT_HINT}, or leave it out to detect the commit with git"
    if value.strip().lower() == UNKNOWN_COMMIT:
        return f"'unknown' is what mlstack records when it finds no git repository; {_COMMIT_HINT}"
    if _COMMIT.fullmatch(value.lower()) and value != value.lower():
        return "is written in capitals; write the hash in lower case, as git prints it"
    if not _COMMIT.fullmatch(value):
        return f"is not a git commit hash (4 to 40 hex digits, or 64); {_COMMIT_HINT}"
    return None


def _commit(value: str) -> str:
    problem = commit_problem(value)
    if problem:
        raise ValueError(problem)
    return value


GitCommit = Annotated[str, AfterValidator(_commit)]
"""A git commit hash (see :func:`commit_problem`)."""


def detect_git_commit(directory: str | os.PathLike[str] | None = None) -> str:
    """The commit of the repository holding ``directory``, ``$MLSTACK_GIT_COMMIT`` if set,
    else ``"unknown"`` (outside git, or git not installed).

    Raises :class:`ConfigError` when ``$MLSTACK_GIT_COMMIT`` is set but empty or not a commit
    hash (a CI variable that expanded to nothing must not pass for "no override").
    """
    if GIT_COMMIT_ENV in os.environ:
        override = os.environ[GIT_COMMIT_ENV].strip()
        problem = commit_problem(override)
        if problem:
            raise ConfigError(
                [Problem(GIT_COMMIT_ENV, problem, value=os.environ[GIT_COMMIT_ENV], hint=f"or unset {GIT_COMMIT_ENV} to let mlstack ask git")],
                title="invalid environment",
            )
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
    """:func:`_read_taggable`, kept in the on-disk cache (:mod:`mlstack.cache`, namespace
    ``pulumi-aws``) keyed by the installed pulumi-aws: its version and the SHA-256 of its RECORD,
    which lists every installed file with its hash. Importing pulumi-aws's packages to read one
    signature is otherwise most of what ``mlstack check``'s judging process imports. (A built
    policy pack replaces this function with its recorded snapshot, mlstack.policy.kit.snapshot.)"""
    fingerprint = _pulumi_aws_fingerprint()
    if fingerprint is None:
        return _read_taggable(type_token)
    key = json.dumps({"pulumi-aws": fingerprint, "taggable": type_token}, sort_keys=True)
    answer = cache.get("pulumi-aws", key)
    if not isinstance(answer, bool):
        answer = _read_taggable(type_token)
        cache.put("pulumi-aws", key, answer)
    return answer


@functools.cache
def _pulumi_aws_fingerprint() -> str | None:
    import hashlib
    from importlib import metadata

    try:
        dist = metadata.distribution("pulumi-aws")
        record = dist.read_text("RECORD")
    except (metadata.PackageNotFoundError, OSError):
        return None
    if not record:
        return None
    return f"{dist.version} {hashlib.sha256(record.encode('utf-8')).hexdigest()}"


def _read_taggable(type_token: str) -> bool:
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


# -- how many tags a resource carries ---------------------------------------------------------

MAX_TAGS = 50
"""Tags AWS accepts on one resource (SageMaker, IAM, S3, KMS, SNS, CloudWatch, Lambda alike;
botocore's SageMaker ``TagList`` says 50 too). Tags starting with ``aws:`` do not count."""

# Keys the components add beside Lineage.tags(): the registry's approval mode and external
# source (ModelRegistry, mlstack.program), a feature group's name (FeatureStore), the registry
# status of the version an endpoint serves (mlstack.components.serving).
APPROVAL_MODE = f"{LINEAGE_PREFIX}approval-mode"
SOURCE = f"{LINEAGE_PREFIX}source"
FEATURE_GROUP = f"{LINEAGE_PREFIX}feature-group"
APPROVAL_STATUS = f"{LINEAGE_PREFIX}approval-status"


def worst_case_tags(spec: Any) -> list[tuple[str, int]]:
    """``(resource, tags)`` for the most-tagged AWS resource of each part of a stack
    (a :class:`~mlstack.specs.stack.StackSpec`): the user's tags (owner, cost-center and
    ``mlstack:tags``) plus every lineage tag the program gives that part.

    Mirrors the ``Lineage.tags(...)`` calls of :mod:`mlstack.program` and the components; a
    test plans stacks and checks no resource carries more than this says.
    """
    user = len(spec.user_tags())
    base = user + len(REQUIRED_KEYS)
    out: list[tuple[str, int]] = []
    for model in spec.models:
        dataset = model.dataset
        data = (1 if dataset else 0) + (1 if dataset and dataset.version else 0)
        out.append((f"the registry group of model {model.name!r}", base + 1 + data + (1 if model.source else 0) + 1))
        training = model.training
        if training is not None:
            # model, dataset (its input, unless read from a feature group), dataset-version (always set)
            reads_uri = bool(training.input or (dataset and not training.feature_group))
            out.append((f"the training pipeline of model {model.name!r}", base + 1 + (1 if reads_uri else 0) + 1))
    if spec.feature_groups:
        out.append(("each feature group", base + 1))
    models = {m.name: m for m in spec.models}
    for endpoint in spec.endpoints:
        if endpoint.is_kserve:
            continue  # Kubernetes labels and annotations: no AWS tag limit
        model = models.get(endpoint.model)
        data = (1 if model and model.dataset else 0) + (1 if model and model.dataset and model.dataset.version else 0)
        out.append((f"endpoint {endpoint.name!r}", base + 3 + data))  # model, model-version, approval-status
    for monitor in spec.monitors:
        served = next((e.model for e in spec.endpoints if e.name == monitor.endpoint), None)
        model = models.get(served) if served else None
        data = (1 if model and model.dataset else 0) + (1 if model and model.dataset and model.dataset.version else 0)
        out.append((f"the monitor of endpoint {monitor.endpoint!r}", base + 1 + data))
    audit = getattr(spec, "audit", None)
    if audit is not None and (audit.enabled if audit.enabled is not None else spec.environment.value == "prod"):
        out.append(("the decision log (mlstack:audit)", base + 1))  # mlstack:audit-log
    return out


def tag_budget_problems(spec: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """One problem at ``tags`` when some resource of ``spec`` would carry more than
    :data:`MAX_TAGS` tags once mlstack's lineage tags are added (AWS refuses it at deploy time)."""
    counts = worst_case_tags(spec)
    if not counts:
        return []
    resource, count = max(counts, key=lambda item: item[1])
    if count <= MAX_TAGS:
        return []
    user = len(spec.user_tags())
    return [
        (
            ("tags",),
            f"{resource} would carry {count} tags: {user} of yours (owner, cost-center and mlstack:tags) and "
            f"{count - user} lineage tags mlstack adds; AWS allows {MAX_TAGS} per resource: drop at least "
            f"{count - MAX_TAGS} from mlstack:tags",
        )
    ]
