"""Finding, reading and validating team stack files.

A stack is named like ``churn-prod`` (the file ``stacks/Pulumi.churn-prod.yaml`` of the
project found from the current directory) or given as a path. Every problem in a file is
reported at once with the file, line, key path, bad value and a fix.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from pydantic import ValidationError

from .errors import ConfigError, Problem, SpecProblems, UsageError, format_path
from .spec import NAMESPACE, StackSpec
from .types import PATTERN_HINTS

__all__ = ["Project", "StackFile", "find_project", "resolve_stack_file", "load_stack", "spec_from_config"]

DEFAULT_REGION = "us-east-1"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PROJECT_FILE = "Pulumi.yaml"


@dataclass(frozen=True)
class Project:
    """The Pulumi project a stack file belongs to (``Pulumi.yaml``)."""

    root: Path
    name: str
    main: Path
    stack_config_dir: Path

    @classmethod
    def load(cls, root: Path) -> "Project":
        path = root / PROJECT_FILE
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise UsageError(f"{path}: cannot read the Pulumi project file: {exc}") from None
        if not isinstance(data, dict) or not data.get("name"):
            raise UsageError(f"{path}: a Pulumi project file needs a 'name'")
        main = root / str(data.get("main") or ".")
        config_dir = root / str(data.get("stackConfigDir") or ".")
        return cls(root=root, name=str(data["name"]), main=main, stack_config_dir=config_dir)

    def stack_names(self) -> list[str]:
        return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.stack_config_dir.glob("Pulumi.*.yaml"))


def find_project(start: Path | None = None) -> Project | None:
    """The nearest ``Pulumi.yaml`` at or above ``start`` (default: the current directory)."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / PROJECT_FILE).is_file():
            return Project.load(directory)
    return None


def resolve_stack_file(stack: str, *, cwd: Path | None = None) -> tuple[Path, Project | None]:
    """Map ``churn-prod`` or a path to the stack file and its project."""
    looks_like_path = stack.endswith((".yaml", ".yml")) or os.sep in stack or "/" in stack
    if looks_like_path:
        path = Path(stack)
        if not path.is_absolute():
            path = (cwd or Path.cwd()) / path
        if not path.is_file():
            raise UsageError(f"stack file {stack!r} does not exist; pass a stack name such as churn-prod or a path to a Pulumi.<stack>.yaml file")
        return path.resolve(), find_project(path.parent)
    project = find_project(cwd)
    if project is None:
        raise UsageError(
            f"no Pulumi.yaml in {Path(cwd or Path.cwd()).resolve()} or above, so stack {stack!r} cannot be found; "
            "run from the project directory or pass the path of the stack file"
        )
    path = project.stack_config_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = project.stack_names()
        close = difflib.get_close_matches(stack, known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise UsageError(
            f"no stack {stack!r}: {path} does not exist; {hint}stacks here: {', '.join(known) or 'none'}"
        )
    return path, project


@dataclass(frozen=True)
class StackFile:
    """A validated stack file."""

    path: Path
    stack: str
    project: Project | None
    config: Mapping[str, Any]
    """Every config key (``ns:key``) with its value as YAML gave it."""
    spec: StackSpec
    region: str
    lines: Mapping[tuple, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def project_name(self) -> str:
        return self.project.name if self.project else NAMESPACE

    def pulumi_config(self) -> dict[str, str]:
        """The config as the Pulumi engine hands it to a program: strings, objects as JSON."""
        out = {}
        for key, value in self.config.items():
            out[key] = value if isinstance(value, str) else json.dumps(value)
        out.setdefault("aws:region", self.region)
        return out


def _line_map(text: str) -> dict[tuple, int]:
    """Line numbers (1-based) of every key and item in a YAML document, by path."""
    lines: dict[tuple, int] = {}

    def walk(node: yaml.Node, path: tuple) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value
                lines[path + (key,)] = key_node.start_mark.line + 1
                walk(value_node, path + (key,))
                lines[path + (key,)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, path + (index,))

    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def load_stack(stack: str | os.PathLike[str], *, cwd: Path | None = None) -> StackFile:
    """Find, read and validate a stack; raises :class:`ConfigError` listing every problem."""
    path, project = resolve_stack_file(os.fspath(stack), cwd=cwd)
    display = _display_path(path)
    name = path.name
    if not (name.startswith("Pulumi.") and name.endswith((".yaml", ".yml"))):
        raise UsageError(f"{display}: a stack file is named Pulumi.<stack>.yaml (got {name!r})")
    stack_name = name[len("Pulumi.") :].rsplit(".", 1)[0]
    text = path.read_text()
    try:
        document = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            [Problem("", f"not valid YAML: {getattr(exc, 'problem', exc)}", file=display, line=mark.line + 1 if mark else None)]
        ) from None
    lines = _line_map(text)
    if document is None:
        document = {}
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise ConfigError([Problem("config", "a stack file is a mapping with a 'config:' mapping of keys", file=display, hint="see stacks/Pulumi.churn-dev.yaml")])
    project_name = project.name if project else NAMESPACE
    config: dict[str, Any] = {}
    for key, value in (document.get("config") or {}).items():
        key = str(key)
        config[key if ":" in key else f"{project_name}:{key}"] = value
    spec, region = spec_from_config(config, file=display, lines=lines, stack=stack_name)
    return StackFile(path=path, stack=stack_name, project=project, config=config, spec=spec, region=region, lines=lines)


def spec_from_config(
    config: Mapping[str, Any],
    *,
    file: str | None = None,
    lines: Mapping[tuple, int] | None = None,
    stack: str | None = None,
) -> tuple[StackSpec, str]:
    """Validate the ``mlstack:*`` keys of a config map (values may be JSON strings, as Pulumi
    passes them to a program); returns the spec and the AWS region."""
    lines = lines or {}
    problems: list[Problem] = []
    ours: dict[str, Any] = {}
    file_keys: dict[str, str] = {}
    for key, value in config.items():
        namespace, _, name = key.partition(":")
        if namespace != NAMESPACE:
            continue
        if isinstance(value, dict) and "secure" in value:
            problems.append(Problem(key, "mlstack keys cannot be secrets", file=file, line=_line(lines, key), hint="store secrets in AWS Secrets Manager and reference them by ARN"))
            continue
        ours[name] = _decode(value)
        file_keys[name] = key
    region = _decode(config.get("aws:region")) or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    problems += _check_region(region, file, lines)
    spec = None
    try:
        spec = StackSpec.model_validate(ours)
    except ValidationError as exc:
        problems += _problems_from(exc, file, lines)
    if spec is not None and stack and not (stack == f"{spec.team}-{spec.environment.value}" or stack.startswith(f"{spec.team}-{spec.environment.value}-")):
        problems.append(
            Problem(
                f"{NAMESPACE}:team",
                f"stack {stack!r} does not match team {spec.team!r} and environment {spec.environment.value!r}",
                file=file,
                line=_line(lines, f"{NAMESPACE}:team"),
                hint=f"name the file Pulumi.{spec.team}-{spec.environment.value}.yaml (optionally with a -suffix) or fix mlstack:team / mlstack:environment",
            )
        )
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: (p.line or 0)))
    assert spec is not None
    return spec, region


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _display_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _line(lines: Mapping[tuple, int], key: str, rest: Iterable[Any] = ()) -> int | None:
    path = ("config", key, *rest)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


@functools.cache
def sagemaker_regions() -> frozenset[str]:
    """Regions with a SageMaker API endpoint, from botocore's endpoint data (no network)."""
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    resolver = EndpointResolver(create_loader().load_data("endpoints"))
    regions: set[str] = set()
    for partition in ("aws", "aws-us-gov", "aws-cn"):
        regions.update(resolver.get_available_endpoints("api.sagemaker", partition))
    return frozenset(r for r in regions if "fips" not in r)


def _check_region(region: Any, file: str | None, lines: Mapping[tuple, int]) -> list[Problem]:
    regions = sagemaker_regions()
    if isinstance(region, str) and region in regions:
        return []
    close = difflib.get_close_matches(str(region), sorted(regions), n=3)
    hint = f"did you mean {' or '.join(close)}?" if close else "use a region where SageMaker is available, e.g. us-east-1"
    return [Problem("aws:region", "is not an AWS region with SageMaker", value=region, hint=hint, file=file, line=_line(lines, "aws:region"))]


_HINTS = {
    "missing": "add this key",
    "string_too_short": "give a non-empty value",
    "string_type": "write it as a string (quote it in YAML)",
    "too_short": "list at least one item",
}


def _problems_from(exc: ValidationError, file: str | None, lines: Mapping[tuple, int]) -> list[Problem]:
    schema = StackSpec.model_json_schema(by_alias=True)
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
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
                        line=_line(lines, f"{NAMESPACE}:{full[0]}", full[1:]) if full else None,
                    )
                )
            continue
        # A failing model validator reports at the model's own path.
        path = format_path(loc, namespace=NAMESPACE) if loc else f"{NAMESPACE}"
        line = _line(lines, f"{NAMESPACE}:{loc[0]}", loc[1:]) if loc else None
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
        elif kind == "extra_forbidden":
            valid = _keys_at(schema, loc[:-1])
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


def _node_at(schema: dict, loc: tuple) -> dict | None:
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


def _keys_at(schema: dict, loc: tuple) -> list[str]:
    node = _node_at(schema, loc)
    return sorted(node.get("properties", {})) if node else []
