"""Finding, reading and validating team stack files.

A stack is named like ``churn-prod`` (the file ``stacks/Pulumi.churn-prod.yaml`` of the
project found from the current directory) or given as a path. Every problem in a file is
reported at once with the file, line, key path, bad value and a fix.

Values are read as the Pulumi CLI would hand them to the program under ``pulumi up``:

- a ``{secure: <ciphertext>}`` leaf (``pulumi config set --secret --path mlstack:...``) is
  never decrypted: offline it stands in as ``[secret]``. It is accepted only in the fields
  whose schema carries :data:`SECRET_OK` (the component passes them on as Pulumi secrets);
  anywhere else its value would reach AWS and the state in plain text, so it is refused.
  The engine marks a whole top-level key secret when any leaf below it is
  (``Map.SecureKeys`` in pulumi/pulumi ``sdk/go/common/resource/config/map.go``), so the
  program learns ``mlstack:monitors`` is secret, not which leaf.
- numbers and booleans YAML gives for text fields (``--path`` writes digit strings as
  integers) become the text the CLI hands the program; a scalar the CLI would read
  differently from how it is written (``1.40`` becomes ``1.4``, ``0123`` becomes ``83``) is
  refused with a hint to quote it.
- ESC ``environment:`` imports cannot be opened offline: a warning says so, and a missing
  required key says it may come from there.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from .errors import ConfigError, Problem, SpecProblems, UsageError, format_path
from .files import MAX_DOCUMENT_BYTES, read_text, stat_input
from .specs.base import PATTERN_HINTS
from .specs.stack import NAMESPACE, StackSpec

__all__ = [
    "Project",
    "StackFile",
    "find_project",
    "resolve_stack_file",
    "load_stack",
    "stack_inputs",
    "spec_from_config",
    "is_secure",
    "secure_keys",
    "secret_fields",
    "SECRET",
    "SECRET_OK",
    "MAX_DOCUMENT_BYTES",
    "MAX_YAML_NODES",
    "MAX_YAML_DEPTH",
]

DEFAULT_REGION = "us-east-1"
SECRET = "[secret]"
"""How a secret config value shows offline: mlstack never decrypts it."""
SECRET_OK = "x-mlstack-secret"
"""JSON Schema key (``Field(json_schema_extra={SECRET_OK: True})``) on the fields whose values
may be secrets because their component passes them on as Pulumi secrets."""
PROJECT_FILE = "Pulumi.yaml"
MAX_YAML_NODES = 100_000
"""The most values (scalars, lists and mappings) a stack file or Pulumi.yaml may hold once its
aliases are expanded; the bundled stacks hold a few hundred."""
MAX_YAML_DEPTH = 64
"""The deepest nesting of lists and mappings accepted (aliases expanded); the bundled stacks
nest 8 deep."""


@dataclass(frozen=True)
class Project:
    """The Pulumi project a stack file belongs to (``Pulumi.yaml``)."""

    root: Path
    name: str
    main: Path
    stack_config_dir: Path

    @classmethod
    def load(cls, root: Path) -> "Project":
        """Read ``root/Pulumi.yaml``; raises ConfigError when it is not a project file the
        Pulumi CLI would accept (``sdk/go/common/workspace/project.json``: ``name`` a
        non-empty string, ``main`` and ``stackConfigDir`` strings)."""
        path = root / PROJECT_FILE
        display = _display_path(path)
        title = "invalid Pulumi project file"
        data, node = load_yaml(read_text(path, what="the Pulumi project file"), file=display, title=title)
        lines = _source_map(node)[0]
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(
                [Problem("", f"a Pulumi project file is a mapping of keys (name:, runtime:, main:), not {_kind(data)}", file=display, line=1)],
                title=title,
            )
        problems = []
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(
                Problem("name", "a Pulumi project file needs a 'name': a non-empty string", value=name, file=display, line=lines.get(("name",)), hint="e.g. name: mlstack")
            )
        for key in ("main", "stackConfigDir"):
            value = data.get(key)
            if value is not None and not isinstance(value, str):
                problems.append(
                    Problem(key, f"is a path relative to {PROJECT_FILE}, a string, not {_kind(value)}", value=value, file=display, line=lines.get((key,)), hint=f"e.g. {key}: stacks/")
                )
        if problems:
            raise ConfigError(problems, title=title)
        main = root / (data.get("main") or ".")
        config_dir = root / (data.get("stackConfigDir") or ".")
        return cls(root=root, name=str(name), main=main, stack_config_dir=config_dir)

    def program_files(self) -> list[Path]:
        """The files of the program `pulumi up` runs that mlstack reads: ``main`` itself, or
        its ``__main__.py``."""
        return [self.main / "__main__.py"] if self.main.is_dir() else [self.main]

    def stack_names(self) -> list[str]:
        return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.stack_config_dir.glob("Pulumi.*.yaml"))


def find_project(start: Path | None = None) -> Project | None:
    """The nearest ``Pulumi.yaml`` at or above ``start`` (default: the current directory)."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if stat_input(directory / PROJECT_FILE, what="the Pulumi project file") is not None:
            return Project.load(directory)
    return None


def resolve_stack_file(stack: str, *, cwd: Path | None = None) -> tuple[Path, Project | None]:
    """Map ``churn-prod`` or a path to the stack file and its project."""
    looks_like_path = stack.endswith((".yaml", ".yml")) or os.sep in stack or "/" in stack
    if looks_like_path:
        path = Path(stack)
        if not path.is_absolute():
            path = (cwd or Path.cwd()) / path
        if stat_input(path, what="the stack file") is None:
            raise UsageError(f"stack file {stack!r} does not exist; pass a stack name such as churn-prod or a path to a Pulumi.<stack>.yaml file")
        return path.resolve(), find_project(path.parent)
    project = find_project(cwd)
    if project is None:
        raise UsageError(
            f"no Pulumi.yaml in {Path(cwd or Path.cwd()).resolve()} or above, so stack {stack!r} cannot be found; "
            "run from the project directory or pass the path of the stack file"
        )
    path = project.stack_config_dir / f"Pulumi.{stack}.yaml"
    if stat_input(path, what="the stack file") is None:
        known = project.stack_names()
        close = difflib.get_close_matches(stack, known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise UsageError(
            f"no stack {stack!r}: {path} does not exist; {hint}stacks here: {', '.join(known) or 'none'}"
        )
    return path, project


def stack_inputs(stack: str | os.PathLike[str], *, cwd: Path | None = None) -> list[tuple[Path, str]]:
    """The files a command on ``stack`` reads — the stack file, its Pulumi.yaml and the
    program's entry point — as (path, what): outputs must never overwrite them."""
    path, project = resolve_stack_file(os.fspath(stack), cwd=cwd)
    inputs = [(path, "the stack file")]
    if project is not None:
        inputs.append((project.root / PROJECT_FILE, "the Pulumi project file"))
        inputs += [(program, "the stack's Pulumi program") for program in project.program_files()]
    return inputs


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
    environments: tuple[str, ...] = ()
    """The Pulumi ESC environments the file imports (``environment:``), unreadable offline."""
    warnings: tuple[str, ...] = ()
    """What a reader of an offline plan of this file should know (printed on stderr by load_stack)."""

    @property
    def project_name(self) -> str:
        return self.project.name if self.project else NAMESPACE

    def secret_keys(self) -> list[str]:
        """The config keys holding a secret anywhere inside, as the Pulumi engine lists them
        for the program (``PULUMI_CONFIG_SECRET_KEYS``)."""
        return secure_keys(self.config)

    def pulumi_config(self) -> dict[str, str]:
        """The config as the Pulumi engine hands it to a program: strings, objects as JSON."""
        out = {}
        for key, value in self.config.items():
            # default=str: dates, sets and bytes YAML may give in other namespaces' values.
            out[key] = value if isinstance(value, str) else json.dumps(value, default=str)
        out.setdefault("aws:region", self.region)
        return out


def _line_map(text: str) -> dict[tuple, int]:
    """Line numbers (1-based) of every key and item in a YAML document, by path."""
    try:
        return _source_map(load_yaml(text)[1])[0]
    except ConfigError:
        return {}


_IMPLICIT = yaml.resolver.Resolver()


def _source_map(root: yaml.Node | None) -> tuple[dict[tuple, int], dict[tuple, str]]:
    """Line numbers (1-based) of every key and item of a composed YAML document, and the text
    of every unquoted, untagged scalar as written (``1.40``, ``0123``), by path."""
    lines: dict[tuple, int] = {}
    texts: dict[tuple, str] = {}

    def walk(node: yaml.Node, path: tuple) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            if not node.style and node.tag == _IMPLICIT.resolve(yaml.ScalarNode, node.value, (True, False)):
                texts[path] = node.value
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue  # a list or mapping as a key: construction refused it already
                key = key_node.value
                lines[path + (key,)] = key_node.start_mark.line + 1
                walk(value_node, path + (key,))
                lines[path + (key,)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, path + (index,))

    # Bounded by load_yaml: at most MAX_YAML_NODES paths, MAX_YAML_DEPTH deep.
    if root is not None:
        walk(root, ())
    return lines, texts


# -- reading YAML within bounds -----------------------------------------------------------------


class _TooLarge(yaml.error.MarkedYAMLError):
    """A document over MAX_YAML_NODES values or MAX_YAML_DEPTH levels, aliases expanded."""


class _BoundedComposer(yaml.composer.Composer):
    """PyYAML's composer, counting while it composes.

    Aliases share nodes, so a "billion laughs" document composes in linear memory; what
    explodes is every later walk over it (line map, validation, JSON for the program).
    Each node's size and depth with its aliases expanded are kept as it completes (an alias
    costs the size of what it names), so a bomb stops at the first level over the bound, in
    microseconds. gopkg.in/yaml.v3, the Pulumi CLI's reader, guards the same way
    (``decode.go``: "document contains excessive aliasing").

    Duplicate keys are collected here too: yaml.v3 refuses them ("mapping key already
    defined at line N", same kind and text), PyYAML keeps the last.
    """

    def __init__(self) -> None:
        super().__init__()
        self._size: dict[int, int] = {}
        self._depth: dict[int, int] = {}
        self.duplicates: list[tuple[yaml.MappingNode, str, int, int]] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self._size:
                raise _TooLarge(None, None, f"the alias *{event.anchor} refers to the list or mapping that contains it", event.start_mark)
        node = super().compose_node(parent, index)
        if id(node) not in self._size:
            children = _children(node)
            size = 1 + sum(self._size.get(id(c), 1) for c in children)
            depth = 1 + max((self._depth.get(id(c), 1) for c in children), default=0)
            self._size[id(node)], self._depth[id(node)] = size, depth
            if size > MAX_YAML_NODES:
                raise _TooLarge(
                    None, None, f"the document holds more than {MAX_YAML_NODES} values once its aliases (*name) are expanded", node.start_mark
                )
            if depth > MAX_YAML_DEPTH:
                raise _TooLarge(None, None, f"lists and mappings nest more than {MAX_YAML_DEPTH} levels deep", node.start_mark)
        return node

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        node = super().compose_mapping_node(anchor)
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            line = key_node.start_mark.line + 1
            if key_node.value in seen:
                self.duplicates.append((node, key_node.value, seen[key_node.value], line))
            else:
                seen[key_node.value] = line
        return node


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


class _SafeConstructor(yaml.constructor.SafeConstructor):
    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            # PyYAML lets Python's own errors out: 2024-02-30, a 5000-digit number, !!float abc.
            raise yaml.constructor.ConstructorError(
                None, None, f"{_short_text(node)} cannot be read as {node.tag.rsplit(':', 1)[-1]} ({exc})", node.start_mark
            ) from None


def _short_text(node: yaml.Node) -> str:
    text = node.value if isinstance(node.value, str) else ""
    return repr(text if len(text) <= 40 else text[:37] + "...")


try:
    from yaml._yaml import CParser as _Parser  # libyaml: events in C, composed here

    class _Loader(_BoundedComposer, _Parser, _SafeConstructor, yaml.resolver.Resolver):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            _Parser.__init__(self, stream)
            _BoundedComposer.__init__(self)
            _SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

except ImportError:  # pragma: no cover - PyYAML without libyaml

    class _Loader(  # type: ignore[no-redef]
        yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, _BoundedComposer, _SafeConstructor, yaml.resolver.Resolver
    ):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            _BoundedComposer.__init__(self)
            _SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)


def load_yaml(text: str, *, file: str | None = None, title: str = "invalid mlstack configuration") -> tuple[Any, yaml.Node | None]:
    """One YAML document read as the Pulumi CLI reads it, within bounds: (data, root node).

    Raises :class:`ConfigError` for invalid YAML, duplicate keys (each with both lines and the
    key path), more than :data:`MAX_YAML_NODES` values or :data:`MAX_YAML_DEPTH` levels once
    aliases are expanded.
    """
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if loader.duplicates:
            raise ConfigError(_duplicate_problems(root, loader.duplicates, file), title=title)
        data = loader.construct_document(root) if root is not None else None
    except _TooLarge as exc:
        mark = exc.problem_mark
        raise ConfigError(
            [Problem("", f"refused: {exc.problem}", file=file, line=mark.line + 1 if mark else None, hint="write the values out, or split the stack")],
            title=title,
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(exc, text, file)], title=title) from None
    finally:
        loader.dispose()
    return data, root


def _yaml_problem(exc: yaml.YAMLError, text: str, file: str | None) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if context and problem.startswith("but "):
        problem = f"{context}, {problem}"  # "expected a single document in the stream, but found another document"
    hint = None
    rows = text.split("\n")
    line = rows[mark.line] if mark is not None and 0 <= mark.line < len(rows) else ""
    if "\t" in line[: mark.column + 1 if mark is not None else 0]:
        hint = "indent with spaces: YAML does not allow tabs for indentation"
    elif "cannot start any token" in problem:
        hint = "indent with spaces, not tabs, and quote values that start with @, ` or %"
    elif "undefined alias" in problem:
        hint = "an alias (*name) must follow its anchor (&name) in the same file; quote a value that starts with *"
    where = f" (column {mark.column + 1})" if mark is not None else ""
    return Problem("", f"not valid YAML: {problem}{where}", file=file, line=mark.line + 1 if mark else None, hint=hint)


def _duplicate_problems(root: yaml.Node, duplicates: list[tuple[yaml.MappingNode, str, int, int]], file: str | None) -> list[Problem]:
    paths: dict[int, tuple] = {}
    stack: list[tuple[yaml.Node, tuple]] = [(root, ())]
    while stack:  # each node once, at its first path (an anchor before its aliases)
        node, path = stack.pop()
        if id(node) in paths:
            continue
        paths[id(node)] = path
        if isinstance(node, yaml.MappingNode):
            stack += [(v, path + (k.value,)) for k, v in reversed(node.value) if isinstance(k, yaml.ScalarNode)]
        elif isinstance(node, yaml.SequenceNode):
            stack += [(v, path + (i,)) for i, v in reversed(list(enumerate(node.value)))]
    problems = []
    for mapping, key, first, second in sorted(duplicates, key=lambda d: d[3]):
        where = paths.get(id(mapping), ())
        problems.append(
            Problem(
                _key_path(where + (key,)),
                f"the key {key!r} is written twice in the same mapping, at lines {first} and {second}",
                file=file,
                line=second,
                hint="keep one: the Pulumi CLI refuses duplicate keys, and mlstack will not guess which one you meant",
            )
        )
    return problems


def _key_path(path: tuple) -> str:
    """``("config", "mlstack:models", 0, "name")`` as a reader finds it: ``mlstack:models[0].name``."""
    if len(path) > 1 and path[0] == "config":
        path = path[1:]
    return format_path(path)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return f"a {type(value).__name__}"


def load_stack(stack: str | os.PathLike[str], *, cwd: Path | None = None) -> StackFile:
    """Find, read and validate a stack; raises :class:`ConfigError` listing every problem."""
    path, project = resolve_stack_file(os.fspath(stack), cwd=cwd)
    display = _display_path(path)
    name = path.name
    if not (name.startswith("Pulumi.") and name.endswith((".yaml", ".yml"))):
        raise UsageError(f"{display}: a stack file is named Pulumi.<stack>.yaml (got {name!r})")
    stack_name = name[len("Pulumi.") :].rsplit(".", 1)[0]
    document, root = load_yaml(read_text(path, what="the stack file", limit=MAX_DOCUMENT_BYTES), file=display)
    lines, texts = _source_map(root)
    if document is None:
        document = {}
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise ConfigError([Problem("config", "a stack file is a mapping with a 'config:' mapping of keys", file=display, hint="see stacks/Pulumi.churn-dev.yaml")])
    project_name = project.name if project else NAMESPACE
    config: dict[str, Any] = {}
    written: dict[str, str] = {}
    for key, value in (document.get("config") or {}).items():
        key = str(key)
        full = key if ":" in key else f"{project_name}:{key}"
        if full in written:
            # `team:` and `mlstack:team:` are one key once the CLI namespaces it.
            first, second = lines.get(("config", written[full])), lines.get(("config", key))
            raise ConfigError(
                [
                    Problem(
                        full,
                        f"is written twice, as {written[full]!r} (line {first}) and {key!r} (line {second}); a key without a namespace is in the project's ({project_name})",
                        file=display,
                        line=second,
                        hint="keep one",
                    )
                ]
            )
        written[full] = key
        config[full] = value
    environments = _esc_imports(document.get("environment"))
    warnings: list[str] = []
    if environments:
        warnings.append(_esc_warning(display, environments))
    for message in warnings:
        _warn(message)
    spec, region = spec_from_config(
        config, file=display, lines=lines, stack=stack_name, secret_keys=secure_keys(config), texts=texts, environments=environments
    )
    return StackFile(
        path=path,
        stack=stack_name,
        project=project,
        config=config,
        spec=spec,
        region=region,
        lines=lines,
        environments=environments,
        warnings=tuple(warnings),
    )


def _esc_imports(environment: Any) -> tuple[str, ...]:
    """The ESC environments a stack file's ``environment:`` imports: a list of names, or an
    inline definition with ``imports`` (names, or ``{name: {merge: ...}}``) and ``values``
    (pulumi/pulumi ``sdk/go/common/workspace/project.go``, ``Environment``)."""
    if environment is None:
        return ()
    if isinstance(environment, list):
        return tuple(str(name) for item in environment for name in (item if isinstance(item, dict) else [item]))
    if isinstance(environment, dict):
        names = [name for item in environment.get("imports") or [] for name in (item if isinstance(item, dict) else [item])]
        if environment.get("values"):
            names.append(_INLINE)
        return tuple(str(n) for n in names)
    return (str(environment),)


_INLINE = "(inline values)"


def _esc_uses(environments: tuple[str, ...]) -> str:
    """``imports the Pulumi ESC environment a/b and defines ESC values inline``."""
    names = [e for e in environments if e != _INLINE]
    several = "s" if len(names) > 1 else ""
    uses = f"imports the Pulumi ESC environment{several} {', '.join(names)}" if names else ""
    if _INLINE in environments:
        uses += (" and " if uses else "") + "defines ESC values inline"
    return uses


def _esc_warning(display: str, environments: tuple[str, ...]) -> str:
    return (
        f"{display}: {_esc_uses(environments)}; mlstack cannot open "
        "ESC environments offline (that takes the Pulumi CLI), so config they set (pulumiConfig) is not read: "
        "mlstack keys, or fields of them, that only the environment sets are missing here, and `pulumi up` "
        "may deploy more than this shows"
    )


_WARNED: set[str] = set()


def _warn(message: str) -> None:
    # A command may load the same file twice (check plans after validating); say it once.
    if message not in _WARNED:
        _WARNED.add(message)
        print(f"mlstack: warning: {message}", file=sys.stderr)


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
    reader = _ValueReader(file=file, lines=lines, texts=texts or {})
    ours: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    for key, value in config.items():
        namespace, _, name = key.partition(":")
        if namespace != NAMESPACE:
            continue
        raw[name] = value = _decode(value)
        if _decode_json(value)[1]:
            reader.problems.append(
                Problem(key, f"nests lists and objects more than {MAX_YAML_DEPTH} levels deep", file=file, line=_line(lines, key), hint="no mlstack key nests like that")
            )
            reader.refused.add(key)
            continue
        ours[name] = reader.read(key, (name,), value)
    problems = reader.problems
    secret = set(_runtime_secret_keys(config) if secret_keys is None else secret_keys)
    for name, value in raw.items():
        key = f"{NAMESPACE}:{name}"
        # Under `pulumi up` the program sees plaintext and only which top-level keys hold a secret.
        if key in secret and not _holds_secure(value) and not any(f.startswith((f"{key}.", f"{key}[")) for f in secret_fields()):
            problems.append(
                Problem(
                    key,
                    "holds a secret (pulumi config set --secret), but mlstack passes every field of this key to AWS "
                    "and the Pulumi state in plain text, so it would not stay secret",
                    file=file,
                    line=_line(lines, key),
                    hint=f"write it in plain text; secrets are accepted in {', '.join(secret_fields())}",
                )
            )
    region = _decode(config.get("aws:region")) or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    if is_secure(region):
        problems.append(
            Problem("aws:region", "is a secret; mlstack needs the region to plan the stack and cannot decrypt it", file=file, line=_line(lines, "aws:region"), hint="write it in plain text")
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
                line=_line(lines, f"{NAMESPACE}:team"),
                hint=f"name the file Pulumi.{spec.team}-{spec.environment.value}.yaml (optionally with a -suffix) or fix mlstack:team / mlstack:environment",
            )
        )
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: (p.line or 0)))
    assert spec is not None
    return spec, region


# -- secrets ------------------------------------------------------------------------------------


def is_secure(value: Any) -> bool:
    """A ``{secure: <ciphertext>}`` leaf, as ``pulumi config set --secret`` writes it: a mapping
    with the single key ``secure`` holding a string (``isSecureValue`` in pulumi/pulumi
    ``sdk/go/common/resource/config/object.go``)."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("secure"), str)


def _holds_secure(value: Any) -> bool:
    pending = [value]  # iterative: a JSON string value may nest deeper than Python recurses
    while pending:
        item = pending.pop()
        if is_secure(item):
            return True
        if isinstance(item, dict):
            pending += item.values()
        elif isinstance(item, list):
            pending += item
    return False


def secure_keys(config: Mapping[str, Any]) -> list[str]:
    """The keys of ``config`` (YAML values or the JSON strings a program gets) with a secure
    leaf anywhere inside: what the Pulumi engine passes as the program's secret keys."""
    return sorted(key for key, value in config.items() if _holds_secure(_decode(value)))


def _runtime_secret_keys(config: Mapping[str, Any]) -> set[str]:
    """The keys of ``config`` the running Pulumi program was told are secret (none outside one)."""
    runtime = sys.modules.get("pulumi.runtime.config")
    if runtime is None:
        return set()
    return {key for key in config if runtime.is_config_secret(key)}


@functools.cache
def _schema() -> dict:
    return StackSpec.model_json_schema(by_alias=True)


def _options(node: dict, defs: dict) -> list[dict]:
    """The alternatives a schema node allows, references resolved."""
    if "$ref" in node:
        return _options(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    for key in ("anyOf", "oneOf"):
        if key in node:
            return [option for alternative in node[key] for option in _options(alternative, defs)]
    if len(node.get("allOf", ())) == 1:
        return _options(node["allOf"][0], defs)
    return [node]


@dataclass(frozen=True)
class _Field:
    options: list[dict]
    secret_ok: bool

    def types(self) -> set[str]:
        types: set[str] = set()
        for option in self.options:
            kind = option.get("type")
            if "enum" in option or "const" in option:
                types.add("enum")
            elif isinstance(kind, list):
                types.update(kind)
            else:
                types.add(kind or "any")
        types.discard("null")
        return types


def _field_at(loc: tuple) -> _Field | None:
    """The schema of the value at ``loc`` (``("monitors", 0, "notifications", "https", 0)``),
    and whether a field on the way accepts secrets; None where the schema has no such key."""
    schema = _schema()
    defs = schema.get("$defs", {})
    options = _options(schema, defs)
    secret_ok = False
    for part in loc:
        found: list[dict] = []
        for option in options:
            if isinstance(part, int):
                child = option.get("items") if option.get("type") == "array" else None
            else:
                properties = option.get("properties", {})
                child = properties.get(part) or properties.get(to_camel(part))
                if child is None and isinstance(option.get("additionalProperties"), dict):
                    child = option["additionalProperties"]
            if isinstance(child, dict):
                secret_ok = secret_ok or bool(child.get(SECRET_OK))
                found += _options(child, defs)
        if not found:
            return None
        options = found
    return _Field(options, secret_ok)


@functools.cache
def secret_fields() -> tuple[str, ...]:
    """The key paths whose values may be secrets, as a user writes them
    (``mlstack:monitors[].notifications.https``)."""
    schema = _schema()
    defs = schema.get("$defs", {})
    found: list[str] = []

    def walk(node: dict, path: str, seen: frozenset[str]) -> None:
        ref = node.get("$ref")
        if ref:
            name = ref.rsplit("/", 1)[-1]
            if name in seen:
                return
            seen = seen | {name}
        for option in _options(node, defs):
            if option.get("type") == "array" and isinstance(option.get("items"), dict):
                walk(option["items"], f"{path}[]", seen)
            for key, child in option.get("properties", {}).items():
                where = f"{NAMESPACE}:{key}" if not path else f"{path}.{key}"
                if child.get(SECRET_OK):
                    found.append(where)
                else:
                    walk(child, where, seen)

    walk(schema, "", frozenset())
    return tuple(sorted(set(found)))


# -- YAML scalars as the Pulumi CLI reads them --------------------------------------------------

_NULL = object()
_CLI_BOOLS = {"true": "true", "True": "true", "TRUE": "true", "false": "false", "False": "false", "FALSE": "false"}
_CLI_NULLS = {"", "~", "null", "Null", "NULL"}
_CLI_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_CLI_TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?$")


def _cli_reading(text: str) -> tuple[str, Any] | None:
    """What the Pulumi CLI's YAML reader (gopkg.in/yaml.v3, ``resolve``) makes of an unquoted
    scalar that is not plain text, and the text the program then gets: ``("a number", "83")``
    for ``0123``; None when it reads text."""
    if text in _CLI_BOOLS:
        return "a boolean", _CLI_BOOLS[text]
    if text in _CLI_NULLS:
        return "null", _NULL
    lowered = text.lstrip("+-").lower()
    if lowered in (".inf", ".nan"):
        return "a number that is not finite", "(refused by the CLI)"
    if not text or text[0] not in "0123456789+-.":
        return None
    if text[0] in "0123456789" and _CLI_TIMESTAMP.match(text):
        date = text[:10] if re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", text) else None
        return "a timestamp", f"{date} 00:00:00 +0000 UTC" if date else "a rendered timestamp"
    plain = text.replace("_", "")
    number = _go_int(plain)
    if number is not None:
        return "a number", str(number)
    if _CLI_FLOAT.match(plain):
        rendered = _go_float(float(plain))
        return "a number", rendered if rendered is not None else "(refused by the CLI)"
    return None


def _go_int(plain: str) -> int | None:
    """``strconv.ParseInt(plain, 0, 64)`` (or ParseUint): 0x, 0o, 0b and 0-prefixed octal."""
    sign = -1 if plain.startswith("-") else 1
    body = plain[1:] if plain[:1] in "+-" else plain
    prefix = body[:2].lower()
    if prefix in ("0x", "0o", "0b"):
        base, digits = {"0x": 16, "0o": 8, "0b": 2}[prefix], body[2:]
    elif body.startswith("0") and len(body) > 1:
        base, digits = 8, body[1:]
    else:
        base, digits = 10, body
    if not digits or not digits.isalnum():
        return None
    try:
        number = sign * int(digits, base)
    except ValueError:
        return None
    return number if -(2**63) <= number < 2**64 else None


def _go_float(value: float) -> str | None:
    """A float as Go's encoding/json writes it (shortest digits, no trailing .0), which is
    how the engine hands a number inside an object to the program."""
    if not math.isfinite(value):
        return None
    magnitude = abs(value)
    if magnitude and (magnitude < 1e-6 or magnitude >= 1e21):
        return re.sub(r"e([+-])0(\d)$", r"e\1\2", repr(value))
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class _ValueReader:
    """Prepares the mlstack values of a config map for validation: secure leaves stand in as
    ``[secret]`` (or are refused), YAML scalars in text fields become the text ``pulumi up``
    would give the program (or are refused)."""

    def __init__(self, *, file: str | None, lines: Mapping[tuple, int], texts: Mapping[tuple, str]) -> None:
        self.file = file
        self.lines = lines
        self.texts = texts
        self.problems: list[Problem] = []
        self.refused: set[str] = set()
        """Key paths already reported, whose validation errors would repeat the problem."""
        self._secrets: dict[str, int] = {}

    def read(self, key: str, loc: tuple, value: Any) -> Any:
        if is_secure(value):
            return self._secret(key, loc, value["secure"])
        if isinstance(value, dict):
            return {k: self.read(key, loc + (str(k),), v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.read(key, loc + (i,), v) for i, v in enumerate(value)]
        return self._scalar(key, loc, value)

    def _problem(self, key: str, loc: tuple, message: str, hint: str, **value: Any) -> None:
        path = format_path(loc, namespace=NAMESPACE)
        self.refused.add(path)
        self.problems.append(Problem(path, message, hint=hint, file=self.file, line=_line(self.lines, key, loc[1:]), **value))

    def _scalar(self, key: str, loc: tuple, value: Any) -> Any:
        text = self.texts.get(("config", key, *loc[1:]))
        reading = _cli_reading(text) if text is not None else None
        if value is None or (isinstance(value, str) and reading is None):
            return value
        field = _field_at(loc)
        if field is None or field.types() != {"string"}:
            return value
        if text is None:
            # As the engine hands it to the program: JSON, already how the CLI read it.
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, int):
                return str(value)
            if isinstance(value, float):
                return _go_float(value) or value
            return value
        if reading is None:
            return text  # e.g. yes/on: text for the CLI, a boolean only for YAML 1.1 readers
        what, seen = reading
        if seen is _NULL or seen == text:
            return value if seen is _NULL else text
        self._problem(
            key,
            loc,
            f"the Pulumi CLI reads the unquoted {text} as {what} and hands the program {seen!r}",
            f'quote it ("{text}") to keep it as written',
        )
        return value

    def _secret(self, key: str, loc: tuple, ciphertext: str) -> Any:
        field = _field_at(loc)
        if field is None:
            return SECRET  # not a key of the schema: validation reports it
        types = field.types()
        if types == {"string"} and field.secret_ok:
            placeholder = self._placeholder(ciphertext, field)
            if placeholder is not None:
                return placeholder
            self._problem(key, loc, "is a secret, and its form cannot be checked without decrypting it", "write it in plain text")
            return SECRET
        plain = "write it in plain text (pulumi config set --path, without --secret)"
        if types <= {"integer", "number"}:
            message = "is a secret where a number is required; mlstack cannot decrypt it to check it, and a number here is not sensitive"
        elif types == {"boolean"}:
            message = "is a secret where true or false is required; mlstack cannot decrypt it to check it"
        elif types == {"enum"}:
            allowed = [str(v) for o in field.options for v in o.get("enum", [o.get("const")]) if v is not None]
            message = f"is a secret where one of {', '.join(allowed)} is required; mlstack cannot decrypt it to check it"
        elif types & {"array", "object"}:
            message = "is a secret as a whole; mlstack needs its structure to plan the stack"
            plain = "make only the text values inside it secret, e.g. pulumi config set --secret --path 'mlstack:monitors[0].notifications.https[0]' <url>"
        elif types == {"string"}:
            message = (
                "is a secret, but mlstack passes this value to AWS and the Pulumi state in plain text (names, tags, "
                "ARNs, descriptions and container settings are readable by anyone who can describe the resource), "
                "so it would not stay secret"
            )
            plain = f"write it in plain text, or keep the secret in AWS Secrets Manager; secrets are accepted in {', '.join(secret_fields())}"
        else:
            message = "is a secret, but mlstack must read this value to plan the stack and cannot decrypt it"
        self._problem(key, loc, message, plain)
        return SECRET

    def _placeholder(self, ciphertext: str, field: _Field) -> str | None:
        """``[secret]``, or a stand-in of the form the field requires; distinct secrets get
        distinct stand-ins so that duplicate checks do not mistake them for one value."""
        number = self._secrets.setdefault(ciphertext, len(self._secrets) + 1)
        token = SECRET if number == 1 else f"[secret-{number}]"
        for candidate in (token, f"https://{token}", f"{token}@{token}.invalid"):
            if all(_fits(candidate, option) for option in field.options if option.get("type") == "string"):
                return candidate
        return None


def _fits(text: str, node: dict) -> bool:
    pattern = node.get("pattern")
    return (
        (pattern is None or re.search(pattern, text) is not None)
        and len(text) >= node.get("minLength", 0)
        and len(text) <= node.get("maxLength", len(text))
    )


def _decode(value: Any) -> Any:
    return _decode_json(value)[0]


def _decode_json(value: Any) -> tuple[Any, bool]:
    """A config value the engine passes as JSON text, decoded; and whether it was left as text
    because it nests deeper than :data:`MAX_YAML_DEPTH`."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            decoded = json.loads(value)
        except ValueError:
            return value, False
        except RecursionError:
            return value, True
        if _deeper_than(decoded, MAX_YAML_DEPTH):
            return value, True
        return decoded, False
    return value, False


def _deeper_than(value: Any, limit: int) -> bool:
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            pending += [(child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)]
    return False


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


def _problems_from(exc: ValidationError, file: str | None, lines: Mapping[tuple, int], environments: tuple[str, ...] = ()) -> list[Problem]:
    schema = _schema()
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
            if environments:
                hint = (
                    f"add this key; the stack file {_esc_uses(environments)}, which may set it, but mlstack "
                    "cannot read ESC offline: write it in the stack file too"
                )
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
