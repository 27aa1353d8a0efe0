"""A team's stack file, found, read and validated: :func:`load_stack`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError, Problem, UsageError
from ..files import MAX_DOCUMENT_BYTES, read_text
from ..specs.stack import NAMESPACE, StackSpec
from .esc import esc_imports, esc_warning, warn
from .project import Project, display_path, resolve_stack_file
from .secrets import secure_keys
from .validate import spec_from_config
from .yamlfile import load_yaml, source_map

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


def load_stack(stack: str | os.PathLike[str], *, cwd: Path | None = None) -> StackFile:
    """Find, read and validate a stack; raises :class:`ConfigError` listing every problem."""
    path, project = resolve_stack_file(os.fspath(stack), cwd=cwd)
    display = display_path(path)
    name = path.name
    if not (name.startswith("Pulumi.") and name.endswith((".yaml", ".yml"))):
        raise UsageError(f"{display}: a stack file is named Pulumi.<stack>.yaml (got {name!r})")
    stack_name = name[len("Pulumi.") :].rsplit(".", 1)[0]
    document, root = load_yaml(read_text(path, what="the stack file", limit=MAX_DOCUMENT_BYTES), file=display)
    lines, texts = source_map(root)
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
    environments = esc_imports(document.get("environment"))
    warnings: list[str] = []
    if environments:
        warnings.append(esc_warning(display, environments))
    for message in warnings:
        warn(message)
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
