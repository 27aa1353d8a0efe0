"""Shared building blocks of mlstack's typed inputs.

Every component's inputs are pydantic models deriving from :class:`Spec`. The same models
validate stack config files, generate the JSON Schema (``mlstack schema``) and are what the
components take in Python, so there is one definition per input.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
from pydantic.alias_generators import to_camel

__all__ = [
    "Spec",
    "Environment",
    "Slug",
    "AccountId",
    "S3Uri",
    "TagKey",
    "TagValue",
    "UserTags",
    "LINEAGE_PREFIX",
]

LINEAGE_PREFIX = "mlstack:"


class Spec(BaseModel):
    """Base of every mlstack input model.

    Keys are camelCase in stack files (``instanceType``) and snake_case in Python
    (``instance_type``); unknown keys are rejected; field docstrings become the schema's
    descriptions.
    """

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        use_attribute_docstrings=True,
        validate_default=True,
    )


class Environment(str, Enum):
    """Where a stack runs; policies are stricter towards prod."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


SLUG_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
ACCOUNT_PATTERN = r"^\d{12}$"
S3_URI_PATTERN = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$"

#: How to write a value that failed one of the patterns above (used in error hints).
PATTERN_HINTS = {
    SLUG_PATTERN: "use lower-case letters, digits and single hyphens, starting with a letter (e.g. churn-xgb)",
    ACCOUNT_PATTERN: "use the 12-digit account id, quoted in YAML so leading zeros survive (e.g. \"123456789012\")",
    S3_URI_PATTERN: "use an S3 URI such as s3://bucket/prefix/",
}

Slug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32, pattern=SLUG_PATTERN),
]

AccountId = Annotated[
    str,
    StringConstraints(pattern=ACCOUNT_PATTERN),
]

S3Uri = Annotated[
    str,
    StringConstraints(pattern=S3_URI_PATTERN),
]

# AWS tag rules (resource groups tagging API): letters, digits, spaces and _ . : / = + - @.
_TAG_CHARS = re.compile(r"^[\w\s.:/=+\-@]*$", re.UNICODE)


def _tag_key(value: str) -> str:
    if value.lower().startswith("aws:"):
        raise ValueError("tag keys starting with 'aws:' are reserved by AWS")
    if value.startswith(LINEAGE_PREFIX):
        raise ValueError(f"tag keys starting with {LINEAGE_PREFIX!r} are set by mlstack itself")
    if not _TAG_CHARS.match(value):
        raise ValueError("tag keys may hold letters, digits, spaces and _ . : / = + - @ only")
    return value


def _tag_value(value: str) -> str:
    if not _TAG_CHARS.match(value):
        raise ValueError("tag values may hold letters, digits, spaces and _ . : / = + - @ only")
    return value


TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(_tag_key)]
TagValue = Annotated[str, StringConstraints(max_length=256), AfterValidator(_tag_value)]
UserTags = dict[TagKey, TagValue]
