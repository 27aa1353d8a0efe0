"""Reading one YAML document as the Pulumi CLI reads it, within bounds.

:func:`load_yaml` refuses invalid YAML, duplicate keys and documents over :data:`MAX_YAML_NODES`
values or :data:`MAX_YAML_DEPTH` levels (aliases expanded); :func:`source_map` gives the line of
every key and item and the text of every unquoted scalar, by path.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import yaml

from ..errors import ConfigError, Problem, format_path

MAX_YAML_NODES = 100_000
"""The most values (scalars, lists and mappings) a stack file or Pulumi.yaml may hold once its
aliases are expanded; the bundled stacks hold a few hundred."""
MAX_YAML_DEPTH = 64
"""The deepest nesting of lists and mappings accepted (aliases expanded); the bundled stacks
nest 8 deep."""


def line_map(text: str) -> dict[tuple, int]:
    """Line numbers (1-based) of every key and item in a YAML document, by path."""
    try:
        return source_map(load_yaml(text)[1])[0]
    except ConfigError:
        return {}


_IMPLICIT = yaml.resolver.Resolver()


def source_map(root: yaml.Node | None) -> tuple[dict[tuple, int], dict[tuple, str]]:
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


def config_line(lines: Mapping[tuple, int], key: str, rest: Iterable[Any] = ()) -> int | None:
    """The line of config key ``key`` (and of the path ``rest`` inside its value) in a stack
    file's line map, or of the nearest enclosing entry written there."""
    path = ("config", key, *rest)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


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
