"""Validating the ``mlstack:*`` keys of a config map into a :class:`~mlstack.specs.stack.StackSpec`,
every problem at once with its file, line, key path, value and fix."""

from __future__ import annotations

import difflib
import functools
import os
from typing import Any, Iterable, Mapping

from pydantic import ValidationError

from ..errors import ConfigError, Problem, SpecProblems, format_path
from ..specs.base import PATTERN_HINTS
from ..specs.stack import NAMESPACE, StackSpec
from .esc import esc_uses
from .reader import ValueReader
from .scalars import decode, decode_json
from .schema import keys_at, stack_schema
from .secrets import holds_secure, is_secure, runtime_secret_keys, secret_fields
from .yamlfile import MAX_YAML_DEPTH, config_line

DEFAULT_REGION = "us-east-1"


def spec_from_config(
    config: Mapping[str, Any],
    *,
    file: str | None = None,
    lines: Mapping[tuple, int] | None = None,
    stack: str | None = None,
    secret_keys: Iterable[str] | None = None,
    texts: Mapping[tuple, str] | None = None,
    environments: tuple[str, ...] = (),
) -> tuple[StackSpec, str]:
    """Validate the ``mlstack:*`` keys of a config map (values may be JSON strings, as Pulumi
    passes them to a program); returns the spec and the AWS region.

    ``secret_keys``: the keys Pulumi marks secret (default: those the running Pulumi program
    was given, if any). ``texts``: unquoted scalars as written in the file (by
    ``("config", key, ...)`` path). ``environments``: ESC imports of the file, named in the
    message of a missing key.
    """
    lines = lines or {}
    reader = ValueReader(file=file, lines=lines, texts=texts or {})
    ours: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    for key, value in config.items():
        namespace, _, name = key.partition(":")
        if namespace != NAMESPACE:
            continue
        raw[name] = value = decode(value)
        if decode_json(value)[1]:
            reader.problems.append(
                Problem(key, f"nests lists and objects more than {MAX_YAML_DEPTH} levels deep", file=file, line=config_line(lines, key), hint="no mlstack key nests like that")
            )
            reader.refused.add(key)
            continue
        ours[name] = reader.read(key, (name,), value)
    problems = reader.problems
    secret = set(runtime_secret_keys(config) if secret_keys is None else secret_keys)
    for name, value in raw.items():
        key = f"{NAMESPACE}:{name}"
        # Under `pulumi up` the program sees plaintext and only which top-level keys hold a secret.
        if key in secret and not holds_secure(value) and not any(f.startswith((f"{key}.", f"{key}[")) for f in secret_fields()):
            problems.append(
                Problem(
                    key,
                    "holds a secret (pulumi config set --secret), but mlstack passes every field of this key to AWS "
                    "and the Pulumi state in plain text, so it would not stay secret",
                    file=file,
                    line=config_line(lines, key),
                    hint=f"write it in plain text; secrets are accepted in {', '.join(secret_fields())}",
                )
            )
    region = decode(config.get("aws:region")) or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    if is_secure(region):
        problems.append(
            Problem("aws:region", "is a secret; mlstack needs the region to plan the stack and cannot decrypt it", file=file, line=config_line(lines, "aws:region"), hint="write it in plain text")
        )
        region = DEFAULT_REGION
    problems += _check_region(region, file, lines)
    spec = None
    try:
        spec = StackSpec.model_validate(ours, context={"region": region})  # cross-field rules that need the region (KMS keys)
    except ValidationError as exc:
        refused = reader.refused
        problems += [p for p in _problems_from(exc, file, lines, environments) if p.path not in refused]
    if spec is not None and stack and not (stack == f"{spec.team}-{spec.environment.value}" or stack.startswith(f"{spec.team}-{spec.environment.value}-")):
        problems.append(
            Problem(
                f"{NAMESPACE}:team",
                f"stack {stack!r} does not match team {spec.team!r} and environment {spec.environment.value!r}",
                file=file,
                line=config_line(lines, f"{NAMESPACE}:team"),
                hint=f"name the file Pulumi.{spec.team}-{spec.environment.value}.yaml (optionally with a -suffix) or fix mlstack:team / mlstack:environment",
            )
        )
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: (p.line or 0)))
    assert spec is not None
    return spec, region


@functools.cache
def sagemaker_regions() -> frozenset[str]:
    """Regions with a SageMaker API endpoint, from botocore's endpoint data (no network; kept in
    the on-disk cache, :mod:`mlstack.botodata`)."""
    from ..botodata import derived

    return frozenset(derived("sagemaker-regions", _load_sagemaker_regions))


def _load_sagemaker_regions() -> list[str]:
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    resolver = EndpointResolver(create_loader().load_data("endpoints"))
    regions: set[str] = set()
    for partition in ("aws", "aws-us-gov", "aws-cn"):
        regions.update(resolver.get_available_endpoints("api.sagemaker", partition))
    return sorted(r for r in regions if "fips" not in r)


def _check_region(region: Any, file: str | None, lines: Mapping[tuple, int]) -> list[Problem]:
    regions = sagemaker_regions()
    if isinstance(region, str) and region in regions:
        return []
    close = difflib.get_close_matches(str(region), sorted(regions), n=3)
    hint = f"did you mean {' or '.join(close)}?" if close else "use a region where SageMaker is available, e.g. us-east-1"
    return [Problem("aws:region", "is not an AWS region with SageMaker", value=region, hint=hint, file=file, line=config_line(lines, "aws:region"))]


_HINTS = {
    "missing": "add this key",
    "string_too_short": "give a non-empty value",
    "string_type": "write it as a string (quote it in YAML)",
    "too_short": "list at least one item",
}


def _problems_from(exc: ValidationError, file: str | None, lines: Mapping[tuple, int], environments: tuple[str, ...] = ()) -> list[Problem]:
    schema = stack_schema()
    problems = []
    for error in exc.errors(include_url=False):
        # Union members tagged "~..." (mlstack.specs.stack) are not keys the user wrote.
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("~")))
        if loc and loc[0] == "__root__":
            loc = loc[1:]
        several = (error.get("ctx") or {}).get("error")
        if isinstance(several, SpecProblems):
            # One model validator, several problems: each at its own key and line.
            for sub, text in several.problems:
                full = loc + tuple(sub)
                problems.append(
                    Problem(
                        format_path(full, namespace=NAMESPACE) if full else NAMESPACE,
                        text,
                        file=file,
                        line=config_line(lines, f"{NAMESPACE}:{full[0]}", full[1:]) if full else None,
                    )
                )
            continue
        # A failing model validator reports at the model's own path.
        path = format_path(loc, namespace=NAMESPACE) if loc else f"{NAMESPACE}"
        line = config_line(lines, f"{NAMESPACE}:{loc[0]}", loc[1:]) if loc else None
        kind = error["type"]
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        elif message.startswith("Assertion failed, "):
            message = message[len("Assertion failed, ") :]
        hint = _HINTS.get(kind)
        value: Any = error.get("input")
        if kind == "missing":
            message, value = "required key is missing", None
            if environments:
                hint = (
                    f"add this key; the stack file {esc_uses(environments)}, which may set it, but mlstack "
                    "cannot read ESC offline: write it in the stack file too"
                )
        elif kind == "extra_forbidden":
            valid = keys_at(schema, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
            message = "unknown key"
            hint = (f"did you mean {close[0]!r}? " if close else "") + (f"valid keys here: {', '.join(valid)}" if valid else "")
            value = None
        elif kind in ("string_pattern_mismatch",):
            message = "has the wrong form"
            hint = PATTERN_HINTS.get((error.get("ctx") or {}).get("pattern", ""), f"it must match {(error.get('ctx') or {}).get('pattern')}")
        problem = Problem(path, message, file=file, line=line, hint=hint or None)
        if value is not None and kind != "missing":
            problem = Problem(path, message, value=value, file=file, line=line, hint=hint or None)
        problems.append(problem)
    return problems
