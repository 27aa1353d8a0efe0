"""``mlstack policy-pack build OUTDIR``: a self-contained CrossGuard pack an organisation can publish.

``pulumi policy publish`` uploads only the pack directory, and Pulumi Cloud installs the
``requirements.txt`` inside it there, so the pack in this repository (``policies/``, whose
requirements install mlstack from the checkout with ``-e ..``) cannot be published as it is. The
directory built here holds:

* ``PulumiPolicy.yaml``, ``__main__.py``, ``.gitignore`` (``venv/`` stays out of the upload);
* ``requirements.txt`` with light PyPI requirements only (:data:`REQUIREMENTS`): pulumi runs the pack
  (``python -m pulumi.policy``), pulumi-policy serves it, pydantic is what ``mlstack.specs.base`` needs;
* ``mlstack/``: the rules' source, exactly the modules the pack imports (found by reading their
  imports) and the data files beside them;
* ``mlstack/policy/kit/_pack_snapshot.json``: what the rules would ask botocore and pulumi-aws
  (:mod:`mlstack.policy.kit.snapshot`), recorded now, so the pack installs neither;
* ``.mlstack-policy-pack.json``: what this build wrote, with checksums.

It writes only into a new or empty directory, or over a previous build whose files nobody has
changed since; anything else there (the ``venv/`` that ``pulumi install`` creates) is left alone.

Example::

    mlstack policy-pack build ../mlstack-policy-pack
    cd ../mlstack-policy-pack && pulumi install && pulumi policy publish my-org
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import UsageError

__all__ = ["REQUIREMENTS", "MANIFEST", "ENTRY_MODULES", "Build", "build_pack", "vendored_modules", "register", "cmd_build"]

#: The pack's requirements, by the top-level module the vendored code imports. Floors:
#: pulumi-policy 1.18 is the first with a policy's severity, display name and remediation steps.
REQUIREMENTS: dict[str, str] = {
    "pulumi": "pulumi>=3.200,<4",
    "pulumi_policy": "pulumi-policy>=1.18,<2",
    "pydantic": "pydantic>=2.7,<3",
}

#: Imports the vendored code makes that the pack answers from its snapshot instead (module, import).
#: mlstack.botodata is reached only through catalog._enum, which the snapshot replaces.
SNAPSHOTTED = {("mlstack.catalog", "botocore"), ("mlstack.botodata", "botocore")}

#: The modules the pack's ``__main__.py`` imports; everything they import comes along.
ENTRY_MODULES = ("mlstack.policy.pack", "mlstack.policy.kit.snapshot")

#: The build's record of what it wrote, in the pack directory.
MANIFEST = ".mlstack-policy-pack.json"

_DATA_SUFFIXES = (".json", ".json.gz")
_VERSION = re.compile(r"\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?")

_MAIN = '''"""mlstack's CrossGuard policy pack {version}, built by `mlstack policy-pack build` from mlstack {mlstack}.

Self-contained: the rules are vendored under mlstack/, and what they would ask botocore and
pulumi-aws is read from mlstack/policy/kit/_pack_snapshot.json (recorded from botocore {botocore} and
pulumi-aws {pulumi_aws}). Rebuild rather than edit.
"""

from pulumi_policy import PolicyPack

from mlstack.policy import pack_arguments
from mlstack.policy.kit.snapshot import install_bundled

install_bundled()
PolicyPack(**pack_arguments())
'''

_POLICY_YAML = """# mlstack's CrossGuard policy pack, built by `mlstack policy-pack build` from mlstack {mlstack}; rebuild rather than edit.
#   pulumi install && pulumi policy publish [ORG]
description: {description}
version: {version}
runtime:
  name: python
  options:
    virtualenv: venv
"""

_GITIGNORE = """# `pulumi policy publish` uploads every file no .gitignore excludes: keep the local virtualenv out.
venv/
__pycache__/
*.pyc
"""


@dataclass(frozen=True)
class Build:
    """What :func:`build_pack` wrote."""

    directory: Path
    version: str
    files: tuple[str, ...]
    modules: tuple[str, ...]
    requirements: tuple[str, ...]
    removed: tuple[str, ...] = ()


# --- which modules the pack needs ------------------------------------------------------------------


def _package_root() -> Path:
    import mlstack

    return Path(mlstack.__file__).resolve().parent


def _module_file(root: Path, name: str) -> Path | None:
    parts = name.split(".")[1:]
    base = root.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if parts and base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, in functions too, except under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in _imports_of(child))
            continue
        yield from _imports_of(node)


def _imports_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    else:
        yield from _imports(node)


def vendored_modules(entry: Iterable[str] = ENTRY_MODULES) -> tuple[dict[str, Path], dict[str, set[str]]]:
    """The mlstack modules ``entry`` import, directly or not (with their parent packages), and the
    other top-level modules each of them imports, read from their source."""
    root = _package_root()
    modules: dict[str, Path] = {}
    third_party: dict[str, set[str]] = {}
    todo = list(entry)
    while todo:
        name = todo.pop()
        if name in modules:
            continue
        path = _module_file(root, name)
        if path is None:
            raise RuntimeError(f"module {name} is imported by the policy pack but has no source under {root}")
        modules[name] = path
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = package.split(".")
                if node.level:
                    base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module or ""
                targets = [target] + [f"{target}.{alias.name}" for alias in node.names if alias.name != "*"]
            for target in targets:
                top = target.split(".")[0]
                if top == "mlstack":
                    if _module_file(root, target) is not None:
                        todo.append(target)
                elif top not in sys.stdlib_module_names and top != "__future__":
                    third_party.setdefault(name, set()).add(top)
    return dict(sorted(modules.items())), third_party


def _requirements(third_party: dict[str, set[str]]) -> list[str]:
    unknown = sorted(
        f"{module} imports {top}"
        for module, tops in third_party.items()
        for top in tops
        if top not in REQUIREMENTS and (module, top) not in SNAPSHOTTED
    )
    if unknown:
        raise RuntimeError(
            "the policy pack's code imports packages the pack does not install: " + "; ".join(unknown)
            + ". Keep heavy imports out of mlstack.policy's import path, or add a light requirement to "
            "mlstack.policy.publish.REQUIREMENTS"
        )
    return list(REQUIREMENTS.values())


# --- the files ---------------------------------------------------------------------------------------


def _pack_files(version: str) -> tuple[dict[str, bytes], tuple[str, ...], list[str]]:
    import mlstack

    from .kit import snapshot
    from .pack import pack_arguments

    modules, third_party = vendored_modules()
    requirements = _requirements(third_party)
    root = _package_root()
    files: dict[str, bytes] = {}
    for path in modules.values():
        relative = PurePosixPath("mlstack", *path.relative_to(root).parts)
        files[str(relative)] = path.read_bytes()
        if path.name == "__init__.py":
            for data in sorted(path.parent.iterdir()):
                if data.is_file() and data.name.endswith(_DATA_SUFFIXES):
                    files[str(relative.parent / data.name)] = data.read_bytes()
    recorded_facts = snapshot.record()
    files[f"mlstack/policy/kit/{snapshot.SNAPSHOT_FILE}"] = (json.dumps(recorded_facts, indent=1, sort_keys=True) + "\n").encode()
    files["requirements.txt"] = (
        "# The pack's only requirements: its rules are vendored under mlstack/.\n" + "\n".join(requirements) + "\n"
    ).encode()
    recorded = recorded_facts["recordedFrom"]
    files["__main__.py"] = _MAIN.format(
        version=version, mlstack=mlstack.__version__, botocore=recorded["botocore"], pulumi_aws=recorded["pulumi-aws"]
    ).encode()
    files["PulumiPolicy.yaml"] = _POLICY_YAML.format(
        mlstack=mlstack.__version__, description=json.dumps(pack_arguments()["description"]), version=version
    ).encode()
    files[".gitignore"] = _GITIGNORE.encode()
    return files, tuple(modules), requirements


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _previous_build(directory: Path) -> dict[str, str]:
    """The files (path -> sha256) a previous build wrote into ``directory``; refuses anything else."""
    entries = [p for p in directory.iterdir()]
    if not entries:
        return {}
    manifest = directory / MANIFEST
    if not manifest.is_file():
        shown = ", ".join(sorted(p.name for p in entries)[:5]) + (", ..." if len(entries) > 5 else "")
        raise UsageError(
            f"{directory} is not empty ({shown}) and is not a policy pack built by mlstack (it has no {MANIFEST}); "
            "refusing to write into it. Give a new or empty directory."
        )
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        files = data["files"]
        ok = isinstance(files, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok or any(not _inside(directory, p) for p in files):
        raise UsageError(f"{manifest}: not a manifest written by `mlstack policy-pack build`; refusing to write into {directory}")
    return files


def _inside(directory: Path, relative: str) -> bool:
    path = PurePosixPath(relative)
    return bool(relative) and not path.is_absolute() and ".." not in path.parts and path.parts[0] != MANIFEST


def build_pack(directory: str | Path, *, version: str | None = None) -> Build:
    """Write the publishable pack into ``directory`` (created if missing).

    ``version`` is the pack's version in ``PulumiPolicy.yaml`` (Pulumi Cloud keeps one pack per
    version); default mlstack's. Raises :class:`~mlstack.errors.UsageError` for a directory it
    must not write into, or a version that is not ``MAJOR.MINOR.PATCH``.
    """
    import mlstack

    version = mlstack.__version__ if version is None else version
    if not _VERSION.fullmatch(version):
        raise UsageError(f"--version: {version!r} is not a version such as 1.2.0 (MAJOR.MINOR.PATCH)")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} exists and is not a directory")
    previous = _previous_build(directory) if directory.is_dir() else {}

    files, modules, requirements = _pack_files(version)
    changed = sorted(p for p, digest in previous.items() if (directory / p).is_file() and _digest((directory / p).read_bytes()) != digest)
    foreign = sorted(p for p in files if p not in previous and (directory / p).exists())
    if changed or foreign:
        problems = [f"{p} (changed since the last build)" for p in changed] + [f"{p} (not written by a build)" for p in foreign]
        raise UsageError(
            f"{directory}: refusing to overwrite " + ", ".join(problems)
            + "; move them away or build into a new directory"
        )

    removed = []
    for relative in previous:
        path = directory / relative
        if path.is_file():
            path.unlink()
            if relative not in files:
                removed.append(relative)
    for relative in previous:  # drop the directories the last build made that are now empty
        parent = (directory / relative).parent
        while parent != directory and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    for relative, data in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    manifest = {
        "builtBy": "mlstack policy-pack build",
        "mlstackVersion": mlstack.__version__,
        "version": version,
        "files": {p: _digest(d) for p, d in sorted(files.items())},
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return Build(directory, version, tuple(sorted(files)), modules, tuple(requirements), tuple(sorted(removed)))


# --- the command line ----------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``policy-pack build`` to the ``mlstack`` command line."""
    p = subparsers.add_parser(
        "policy-pack",
        help="build a self-contained policy pack directory to publish with `pulumi policy publish`",
        description="Build mlstack's CrossGuard policy pack as a directory that needs nothing outside it.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(p))
    b = actions.add_parser(
        "build",
        help="write the pack into OUTDIR",
        description=(
            "Write a publishable pack into OUTDIR: PulumiPolicy.yaml, __main__.py, a requirements.txt of light "
            "PyPI requirements (pulumi, pulumi-policy, pydantic) and the rules' source. OUTDIR must be new, empty, "
            "or an earlier build. Then: cd OUTDIR && pulumi install && pulumi policy publish [ORG]."
        ),
    )
    b.add_argument("outdir", metavar="OUTDIR", help="the directory to write (created if missing)")
    b.add_argument("--version", help="the pack's version in PulumiPolicy.yaml (default: mlstack's version)")
    b.set_defaults(handler=cmd_build)


def cmd_build(args: argparse.Namespace) -> int:
    build = build_pack(args.outdir, version=args.version)
    print(
        f"wrote mlstack's policy pack {build.version} to {build.directory}: {len(build.files)} files, "
        f"{len(build.modules)} modules of rules; requirements: {', '.join(build.requirements)}"
    )
    if build.removed:
        print(f"removed from the previous build: {', '.join(build.removed)}")
    _warn_if_ignored(build.directory)
    print(f"next: cd {build.directory} && pulumi install && pulumi policy publish [ORG]")
    return 0


def _warn_if_ignored(directory: Path) -> None:
    """`pulumi policy publish` skips every file a .gitignore in the directory or above it ignores."""
    import subprocess

    try:
        ignored = subprocess.run(
            ["git", "-C", str(directory), "check-ignore", "-q", str((directory / "__main__.py").resolve())],
            capture_output=True,
            timeout=10,
        ).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return
    if ignored:
        print(
            f"warning: git ignores {directory / '__main__.py'}; `pulumi policy publish` leaves out the files a .gitignore "
            "above the pack ignores, so publish from a copy outside this checkout or build into a directory git does not ignore",
            file=sys.stderr,
        )
