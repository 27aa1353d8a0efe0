"""What every spec shares: the :class:`Spec` base class and the constrained types several keys use.

Every ``mlstack:*`` key's model derives from :class:`Spec`. The same models validate stack files,
generate the JSON Schema (``mlstack schema``) and are what the components take in Python, so
there is one definition per input. The types here are written once and used wherever their value
is checked: an ECR image (:data:`EcrImage`, :func:`parse_ecr_image`), a KMS key ARN
(:data:`KmsKeyArn`), a VPC (:class:`VpcSpec`), an instance type per use
(:data:`EndpointInstanceType`, :data:`TrainingInstanceType`, :data:`ProcessingInstanceType`),
S3 URIs, slugs, tags, schedules and time zones.

Example::

    class CacheSpec(Spec):
        image: EcrImage
        vpc: Optional[VpcSpec] = None

    CacheSpec.model_validate({"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cache:1.2"})

Nothing here imports Pulumi: validating a stack file needs pydantic, and botocore only for the
facts :mod:`mlstack.catalog` reads lazily.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from .. import catalog

__all__ = [
    "Spec",
    "Problems",
    "Environment",
    "Slug",
    "AccountId",
    "S3Uri",
    "TaggableS3Uri",
    "TagKey",
    "TagValue",
    "UserTags",
    "LINEAGE_PREFIX",
    "ECR_IMAGE_PATTERN",
    "ECR_IMAGE_SCHEMA_PATTERN",
    "EcrImage",
    "EcrImageRef",
    "parse_ecr_image",
    "ContainerImage",
    "DIGEST_PATTERN",
    "KMS_KEY_ARN_PATTERN",
    "KmsKeyArn",
    "SubnetId",
    "SecurityGroupId",
    "VpcSpec",
    "EndpointInstanceType",
    "TrainingInstanceType",
    "ProcessingInstanceType",
    "ScheduleExpression",
    "TimeZone",
    "did_you_mean",
    "schedule_problem",
    "time_zone_problem",
    "tag_value_problem",
]

#: Problems a validator found, each at its key path below the model: ``[(("rollout", "size"), "message")]``.
Problems = list[tuple[tuple, str]]

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

# AWS tag rules: botocore's TagKey / TagValue pattern ``[\p{L}\p{Z}\p{N}_.:/=+\-@]*`` (letters,
# separators, numbers and _ . : / = + - @). Python's \s would also let tabs and line breaks
# through, which AWS refuses, so characters are judged by their Unicode category.
_TAG_PUNCTUATION = frozenset("_.:/=+-@")
TAG_PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"
"""The pattern botocore's TagKey and TagValue shapes carry (tests check it has not changed)."""
TAG_VALUE_MAX = 256


def _tag_char(char: str) -> bool:
    return char in _TAG_PUNCTUATION or unicodedata.category(char)[0] in "LZN"


def tag_value_problem(value: str) -> Optional[str]:
    """Why AWS would refuse ``value`` as a tag value (letters, digits, spaces, ``_ . : / = + - @``,
    at most 256 characters), or None."""
    if len(value) > TAG_VALUE_MAX:
        return f"is {len(value)} characters; AWS tag values hold at most {TAG_VALUE_MAX}"
    bad = sorted({c for c in value if not _tag_char(c)})
    if bad:
        return f"holds {', '.join(map(repr, bad))}; AWS tag values may hold letters, digits, spaces and _ . : / = + - @ only"
    return None


def _tag_key(value: str) -> str:
    if value.lower().startswith("aws:"):
        raise ValueError("tag keys starting with 'aws:' are reserved by AWS")
    if value.startswith(LINEAGE_PREFIX):
        raise ValueError(f"tag keys starting with {LINEAGE_PREFIX!r} are set by mlstack itself")
    if not all(map(_tag_char, value)):
        raise ValueError("tag keys may hold letters, digits, spaces and _ . : / = + - @ only (no tabs or line breaks)")
    return value


def _tag_value(value: str) -> str:
    if not all(map(_tag_char, value)):
        raise ValueError("tag values may hold letters, digits, spaces and _ . : / = + - @ only (no tabs or line breaks)")
    return value


def _taggable(value: str) -> str:
    problem = tag_value_problem(value)
    if problem:
        raise ValueError(f"is recorded in the mlstack:dataset tag, and {problem}")
    return value


TaggableS3Uri = Annotated[S3Uri, AfterValidator(_taggable)]
"""An S3 URI that is also a valid AWS tag value: mlstack records it in the mlstack:dataset tag."""

TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(_tag_key)]
TagValue = Annotated[str, StringConstraints(max_length=256), AfterValidator(_tag_value)]
UserTags = dict[TagKey, TagValue]


# -- container images --------------------------------------------------------------------------
#
# SageMaker takes an ECR image as registry/repository[:tag] or registry/repository[@digest]
# (CreateModel, CreateTrainingJob, CreateProcessingJob). The repository is written as ECR names
# it (botocore's ECR service model, shape RepositoryName: lower-case letters and digits joined
# by ".", "_", "__" or dashes, in "/"-separated components); a tag as Docker writes one (up to
# 128 letters, digits, "_", "." and "-", not starting with "." or "-").

ECR_IMAGE_PATTERN = (
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
"""An ECR image URI: account, region, repository, and a tag or a digest (neither: SageMaker pulls ``latest``)."""
_ECR_IMAGE = re.compile(ECR_IMAGE_PATTERN)


@dataclass(frozen=True)
class EcrImageRef:
    """An ECR image URI, taken apart by :func:`parse_ecr_image`."""

    account: str
    region: str
    repository: str
    tag: Optional[str] = None
    digest: Optional[str] = None

    def repository_arn(self, partition: str) -> str:
        """The ARN of the image's repository, e.g. to scope ``ecr:BatchGetImage`` to it."""
        return f"arn:{partition}:ecr:{self.region}:{self.account}:repository/{self.repository}"


def parse_ecr_image(uri: str) -> Optional[EcrImageRef]:
    """``uri`` taken apart (account, region, repository, tag, digest); None if it is not an ECR image.

    >>> parse_ecr_image("123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn/serve:1.4").repository
    'churn/serve'
    """
    match = _ECR_IMAGE.match(uri) if isinstance(uri, str) else None
    return EcrImageRef(**match.groupdict()) if match else None


def _ecr_image(value: str) -> str:
    if parse_ecr_image(value) is None:
        raise ValueError(
            "is not an ECR image URI; write <account>.dkr.ecr.<region>.amazonaws.com/<repository>"
            "@sha256:<digest> (or :<tag>; prod stacks pin images by digest)"
        )
    return value


#: :data:`ECR_IMAGE_PATTERN` as the JSON Schema writes it: plain groups, as ECMA-262 regexes
#: (what schema-aware editors run) have no ``(?P<name>...)``.
ECR_IMAGE_SCHEMA_PATTERN = re.sub(r"\(\?P<\w+>", "(", ECR_IMAGE_PATTERN)

EcrImage = Annotated[str, Field(json_schema_extra={"pattern": ECR_IMAGE_SCHEMA_PATTERN}), AfterValidator(_ecr_image)]
"""An image in ECR, as SageMaker runs it (see :data:`ECR_IMAGE_PATTERN`)."""


def _container_image(value: str) -> str:
    # One grammar for ECR wherever mlstack reads an ECR image: the job's role may pull only
    # from the repository parse_ecr_image finds, so an ECR URI it cannot parse would fail at run time.
    host = value.partition("/")[0]
    if ".dkr.ecr." in host and parse_ecr_image(value) is None:
        return _ecr_image(value)
    return value


ContainerImage = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=255, pattern=r"^[a-z0-9.\-]+(:\d+)?/[a-z0-9._/\-]+(:[A-Za-z0-9._\-]+)?(@sha256:[0-9a-f]{64})?$"
    ),
    AfterValidator(_container_image),
]
"""A container image in any registry: registry/repository[:tag][@sha256:digest] (an ECR one as :data:`EcrImage`)."""

DIGEST_PATTERN = r"@sha256:[0-9a-f]{64}$"
"""How an image URI pinned by digest ends."""


# -- KMS, VPC ----------------------------------------------------------------------------------

KMS_KEY_ARN_PATTERN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$"
"""A KMS key ARN (a key id or ``mrk-`` multi-Region key id, not an alias) in any partition."""

PATTERN_HINTS[KMS_KEY_ARN_PATTERN] = (
    "use the ARN of a key (not an alias), e.g. arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

KmsKeyArn = Annotated[str, StringConstraints(pattern=KMS_KEY_ARN_PATTERN)]
"""Bring-your-own KMS key: its ARN (aliases are not accepted: key policies and grants need the key)."""

SubnetId = Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")]
SecurityGroupId = Annotated[str, StringConstraints(pattern=r"^sg-[0-9a-f]{8,17}$")]


class VpcSpec(Spec):
    """Run the jobs in a VPC (private subnets)."""

    subnet_ids: list[SubnetId] = Field(min_length=1, max_length=16)
    """Private subnets for the jobs."""
    security_group_ids: list[SecurityGroupId] = Field(min_length=1, max_length=5)
    """Security groups of the jobs."""


# -- instance types ----------------------------------------------------------------------------


def _instance_type_for(use: catalog.Use):
    def check(value: str) -> str:
        return catalog.validate_instance_type(value, use)

    return check


EndpointInstanceType = Annotated[str, AfterValidator(_instance_type_for(catalog.Use.ENDPOINT))]
"""A SageMaker endpoint instance type, e.g. ml.g5.xlarge (see `mlstack catalog endpoint`)."""
TrainingInstanceType = Annotated[str, AfterValidator(_instance_type_for(catalog.Use.TRAINING))]
"""A SageMaker training instance type, e.g. ml.g5.2xlarge (see `mlstack catalog training`)."""
ProcessingInstanceType = Annotated[str, AfterValidator(_instance_type_for(catalog.Use.PROCESSING))]
"""A SageMaker processing instance type, e.g. ml.m5.xlarge (see `mlstack catalog processing`)."""


def did_you_mean(name: str, known: list[str]) -> str:
    """``"; did you mean 'x'?"`` for the known name closest to ``name``, or ``""``."""
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


# -- schedules -------------------------------------------------------------------------------
#
# EventBridge (rules and Scheduler) and SageMaker take ``cron(...)`` and ``rate(...)`` expressions
# that they check only when the resource is created. The rules below are those of the
# EventBridge cron reference (six fields, their ranges and wildcards; ``?`` in exactly one of
# day-of-month and day-of-week) and of AWS's own CloudFormation linter (cfn-lint rule E3027:
# fields separated by single spaces, a rate value above 0, a singular unit for 1 and a plural
# unit otherwise).

_MONTHS = {m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
_UNITS = ("minute", "hour", "day")


@functools.lru_cache(maxsize=None)
def _field_rules() -> tuple[tuple[str, int, int, dict[str, int], str, int], ...]:
    # name, lowest, highest, names, extra wildcards, largest increment (Quartz's limits)
    return (
        ("minutes", 0, 59, {}, "/", 59),
        ("hours", 0, 23, {}, "/", 23),
        ("day-of-month", 1, 31, {}, "/?LW", 31),
        ("month", 1, 12, _MONTHS, "/", 12),
        ("day-of-week", 1, 7, _DAYS, "?L#", 7),
        ("year", 1970, 2199, {}, "/", 229),
    )


def _cron_value(text: str, low: int, high: int, names: dict[str, int], field: str) -> Optional[str]:
    """Why ``text`` is not a value of ``field``, or None."""
    if text in names:
        return None
    if text.upper() in names:
        return f"{field}: write {text!r} in capitals ({text.upper()})"
    if not text.isdigit() or not text.isascii():
        spelled = f", or {next(iter(names))}-{list(names)[-1]}" if names else ""
        return f"{field}: {text!r} is not a number from {low} to {high}{spelled}"
    if not low <= int(text) <= high:
        return f"{field}: {text} is outside {low}-{high}"
    return None


def _cron_field(text: str, rules: tuple[str, int, int, dict[str, int], str, int]) -> Optional[str]:
    """Why one cron field is invalid, or None."""
    field, low, high, names, extra, largest_step = rules
    if text in ("*", "?"):
        return None if text == "*" or "?" in extra else f"{field}: '?' is allowed only in day-of-month or day-of-week"
    # Forms that stand alone (not in a list): L, LW, nW (day-of-month); L, nL, n#k (day-of-week).
    if field == "day-of-month":
        if text in ("L", "LW"):
            return None
        if re.fullmatch(r"\d+W", text):
            return _cron_value(text[:-1], low, high, names, field)
    if field == "day-of-week":
        if text == "L":
            return None
        if re.fullmatch(r"(\d+|[A-Z]{3})L", text):
            return _cron_value(text[:-1], low, high, names, field)
        if re.fullmatch(r"(\d+|[A-Z]{3})#\d+", text):
            day, _, nth = text.partition("#")
            if not 1 <= int(nth) <= 5:
                return f"{field}: {text!r}: the week after '#' is 1 to 5"
            return _cron_value(day, low, high, names, field)
    for item in text.split(","):
        if not item:
            return f"{field}: {text!r} has an empty list item"
        base, slash, step = item.partition("/")
        if slash:
            if "/" not in extra:
                return f"{field}: increments ('/') are not allowed here"
            if not (step.isdigit() and step.isascii() and 1 <= int(step) <= largest_step):
                return f"{field}: the increment of {item!r} is a whole number from 1 to {largest_step}"
            if base == "*":
                continue
        if base in ("*", "?") and not slash:
            return f"{field}: {base!r} cannot be part of a list"
        start, dash, end = base.partition("-")
        for part in (start, end) if dash else (start,):
            if part in ("L", "W", "LW", "?", "*") or re.fullmatch(r"(\d+|[A-Z]{3})(L|W|#\d+)", part):
                return f"{field}: {item!r}: L, W, # and ? stand alone, not in ranges, lists or increments"
            problem = _cron_value(part, low, high, names, field)
            if problem:
                return problem
    return None


def schedule_problem(expression: str) -> Optional[str]:
    """Why EventBridge or SageMaker would refuse the schedule ``expression``, or None.

    >>> schedule_problem("cron(0 3 ? * MON *)") is None
    True
    >>> schedule_problem("rate(1 hours)")
    "the unit of 1 is singular: write 'hour'"
    """
    if not isinstance(expression, str):
        return "is not a schedule expression"
    if len(expression) > 256:
        return f"is {len(expression)} characters; AWS allows 256"
    if expression.startswith("rate(") and expression.endswith(")"):
        body = expression[5:-1]
        parts = body.split(" ")
        if len(parts) != 2:
            return "a rate is rate(<number> <unit>), e.g. rate(1 hour) or rate(7 days), with one space"
        value, unit = parts
        if not (value.isdigit() and value.isascii()) or int(value) < 1:
            return f"the rate value {value!r} is a whole number of 1 or more"
        n = int(value)
        singular = unit.rstrip("s") if unit.endswith("s") else unit
        if singular not in _UNITS:
            return f"the unit {unit!r} is one of {', '.join(u + '(s)' for u in _UNITS)}"
        wanted = singular if n == 1 else singular + "s"
        if unit != wanted:
            kind = "singular" if n == 1 else "plural"
            return f"the unit of {n} is {kind}: write {wanted!r}"
        return None
    if expression.startswith("cron(") and expression.endswith(")"):
        fields = expression[5:-1].split(" ")
        if len(fields) != 6:
            return (
                "a cron expression has 6 fields separated by single spaces "
                f"(minutes hours day-of-month month day-of-week year), got {len(fields)}"
            )
        for text, rules in zip(fields, _field_rules()):
            problem = _cron_field(text, rules)
            if problem:
                return problem
        day_of_month, day_of_week = fields[2], fields[4]
        if (day_of_month == "?") == (day_of_week == "?"):
            return (
                "exactly one of day-of-month and day-of-week must be '?' "
                "(e.g. cron(0 3 ? * MON *) or cron(0 3 1 * ? *))"
            )
        return None
    return "is not a schedule: write cron(<6 fields>) or rate(<number> <unit>), e.g. cron(0 3 ? * MON *) or rate(7 days)"


def _schedule(value: str) -> str:
    problem = schedule_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# Names in the system's zone database that are not IANA time zones AWS accepts.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@functools.lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(z for z in zoneinfo.available_timezones() if z not in _NOT_ZONES and not z.startswith(("posix/", "right/")))


def time_zone_problem(name: str) -> Optional[str]:
    """Why ``name`` is not an IANA time zone (as EventBridge Scheduler takes them), or None.

    Judged against the zone database Python's ``zoneinfo`` finds (the system's, or the
    ``tzdata`` package); without one, only the form ``Area/Location`` or ``UTC`` is checked.
    """
    zones = _time_zones()
    if not zones:
        if name == "UTC" or re.fullmatch(r"[A-Z][A-Za-z_]+(/[A-Za-z0-9_+\-]+){1,2}", name):
            return None
        return f"{name!r} is not an IANA time zone such as Europe/Berlin or UTC"
    if name in zones:
        return None
    folded = {z.lower(): z for z in zones}
    if name.lower() in folded:
        return f"{name!r} is not an IANA time zone; did you mean {folded[name.lower()]!r}?"
    close = difflib.get_close_matches(name, sorted(zones), n=2)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else " (e.g. Europe/Berlin, America/New_York or UTC)"
    return f"{name!r} is not an IANA time zone{hint}"


def _time_zone(value: str) -> str:
    problem = time_zone_problem(value)
    if problem:
        raise ValueError(problem)
    return value


ScheduleExpression = Annotated[
    str,
    Field(json_schema_extra={"pattern": r"^(cron|rate)\(.+\)$"}),
    AfterValidator(_schedule),
]
"""A ``cron(...)`` or ``rate(...)`` expression EventBridge accepts (see :func:`schedule_problem`)."""

TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=50), AfterValidator(_time_zone)]
"""An IANA time zone name, e.g. Europe/Berlin (see :func:`time_zone_problem`)."""
