"""Fresh virtual environments holding exactly a set of requirements, built offline.

An install test cannot download anything here, and a full ``pip install`` would take minutes.
What it must prove is narrower: that a list of requirements is *enough* for an entry point.
So :func:`make_venv` creates ``python -m venv --without-pip`` and exposes to it, from the
environment running the tests, only the distributions those requirements need — each
requirement resolved with :mod:`importlib.metadata` together with its own dependencies (markers
and extras evaluated, versions checked against the specifiers) — by symlinking exactly their
files (top-level packages, modules and ``*.dist-info``) into one directory listed in a ``.pth``
file. A requirement left out of the list is then missing in the venv, and the entry point fails
as it would in the real image or install::

    venv = make_venv(tmp_path / "venv", read_requirements(Path("docker/drift/requirements.txt")),
                     mlstack_source=True)
    venv.run("-m", "mlstack.drift", "--help")

Directories several distributions share (namespace packages such as ``google`` or ``sagemaker``)
are rebuilt as real directories holding only the chosen distributions' entries, so one
distribution's namespace sibling never comes along unasked.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

# packaging comes with pulumi (a core dependency), so the test extra need not list it.
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent

#: Variables that would let the parent environment leak into the fresh venv's interpreter.
_LEAKY_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV", "PYTHONSAFEPATH")


def read_requirements(path: Path) -> list[Requirement]:
    """The requirements of a pip requirements file that holds only requirement lines."""
    out: list[Requirement] = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise AssertionError(f"{path}:{number}: options such as {line.split()[0]!r} cannot be resolved offline")
        out.append(Requirement(line))
    return out


def resolve(requirements: Iterable[Requirement | str]) -> dict[str, metadata.Distribution]:
    """Every installed distribution ``requirements`` need, theirs included, by canonical name.

    Fails when one is not installed in the running environment or its installed version is
    outside a specifier, so a requirement the tests cannot honour is never silently skipped."""
    chosen: dict[str, metadata.Distribution] = {}
    done: dict[str, set[str]] = defaultdict(set)
    queue: list[tuple[Requirement, str]] = [
        (r if isinstance(r, Requirement) else Requirement(r), "the requirement list") for r in requirements
    ]
    queue = [(r, why) for r, why in queue if r.marker is None or r.marker.evaluate({"extra": ""})]
    while queue:
        req, why = queue.pop()
        name = canonicalize_name(req.name)
        try:
            dist = chosen.get(name) or metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise AssertionError(f"{req} (needed by {why}) is not installed in the test environment") from None
        if not req.specifier.contains(dist.version, prereleases=True):
            raise AssertionError(f"{req} (needed by {why}): the test environment has {dist.version}")
        chosen[name] = dist
        extras = {canonicalize_name(e) for e in req.extras}
        wanted = ({""} | extras) - done[name]
        if not wanted:
            continue
        done[name] |= wanted
        for text in dist.requires or ():
            dep = Requirement(text)
            if dep.marker is None:
                applies = "" in wanted
            else:
                applies = any(dep.marker.evaluate({"extra": e}) for e in wanted)
            if applies:
                queue.append((dep, f"{dist.metadata['Name']} {dist.version}"))
    return chosen


def _installed_files() -> dict[str, list[tuple[str, ...]]]:
    """Every installed distribution's files (as path parts relative to its site directory)."""
    files: dict[str, list[tuple[str, ...]]] = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"] or "")
        if name in files or dist.files is None:
            continue
        files[name] = [p.parts for p in dist.files if p.parts and p.parts[0] != ".." and not Path(p).is_absolute()]
    return files


def _link_entries(
    chosen: Mapping[str, metadata.Distribution], target: Path, all_files: Mapping[str, list[tuple[str, ...]]]
) -> list[Path]:
    """Symlink the chosen distributions' files under ``target``: a whole directory where no
    other installed distribution has files in it, else a real directory, entry by entry."""
    linked: list[Path] = []

    def place(prefix: tuple[str, ...], site: Path, names: set[str]) -> None:
        depth = len(prefix)
        # Which distributions own each next entry below prefix (over everything installed).
        owners: dict[str, set[str]] = defaultdict(set)
        for dist_name, parts_list in all_files.items():
            for parts in parts_list:
                if len(parts) > depth and parts[:depth] == prefix:
                    owners[parts[depth]].add(dist_name)
        wanted: dict[str, bool] = {}
        for dist_name in names:
            for parts in all_files.get(dist_name, ()):
                if len(parts) > depth and parts[:depth] == prefix and parts[depth] != "__pycache__":
                    wanted[parts[depth]] = wanted.get(parts[depth], False) or len(parts) > depth + 1
        for entry, is_dir in sorted(wanted.items()):
            source = site.joinpath(*prefix, entry)
            destination = target.joinpath(*prefix, entry)
            if not source.exists():
                continue
            sharers = owners[entry] - names
            if not is_dir or not sharers:
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.symlink_to(source, target_is_directory=source.is_dir())
                linked.append(destination)
            else:
                destination.mkdir(parents=True, exist_ok=True)
                place((*prefix, entry), site, {n for n in names if n in owners[entry]})

    by_site: dict[Path, set[str]] = defaultdict(set)
    for name, dist in chosen.items():
        if name not in all_files:
            raise AssertionError(f"{name}: the installed distribution lists no files (an editable install?)")
        by_site[Path(dist.locate_file(""))].add(name)
    for site, names in by_site.items():
        place((), site, names)
    return linked


@dataclass(frozen=True)
class Venv:
    """A fresh venv and what was exposed to it."""

    path: Path
    python: Path
    distributions: frozenset[str]
    """Canonical names of the distributions exposed."""

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
        env.update({"PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1"})
        env.update(extra or {})
        return env

    def run(
        self, *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run this venv's python with ``args`` (``-P``: the working directory is not importable)."""
        return subprocess.run(
            [str(self.python), "-P", *args],
            cwd=cwd or self.path,
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def make_venv(path: Path, requirements: Sequence[Requirement | str], *, mlstack_source: bool = False) -> Venv:
    """A ``--without-pip`` venv at ``path`` exposing exactly the closure of ``requirements``
    (and, with ``mlstack_source``, this checkout's ``mlstack`` package, without its metadata
    or dependencies)."""
    chosen = resolve(requirements)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, capture_output=True)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    exposed = path / "exposed"
    exposed.mkdir()
    _link_entries(chosen, exposed, _installed_files())
    if mlstack_source:
        (exposed / "mlstack").symlink_to(ROOT / "mlstack", target_is_directory=True)
    Path(purelib, "closure.pth").write_text(f"{exposed}\n")
    return Venv(path=path, python=python, distributions=frozenset(chosen))


def top_level_names(distributions: Iterable[str]) -> set[str]:
    """The importable top-level names the installed ``distributions`` provide."""
    names: set[str] = set()
    wanted = {canonicalize_name(d) for d in distributions}
    for top, dists in metadata.packages_distributions().items():
        if any(canonicalize_name(d) in wanted for d in dists):
            names.add(top)
    return names


__all__ = ["Venv", "make_venv", "read_requirements", "resolve", "top_level_names", "ROOT"]
