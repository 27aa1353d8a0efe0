"""`mlstack policy-pack build`: a pack directory that runs with nothing but itself and the
requirements.txt inside it, as Pulumi Cloud installs a published pack.

The end-to-end tests copy only the built directory to an empty place, make a fresh venv exposing
exactly the closure of the pack's requirements.txt (``venv_closure``), start the pack as the Python
language host does (``python -u -m pulumi.policy ENGINE PACKDIR`` with the pack directory as working
directory; the pack prints its gRPC port on stdout) and call it over gRPC as the Pulumi CLI does.
"""

from __future__ import annotations

import ast
import json
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from packaging.requirements import Requirement
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from mlstack import catalog
from mlstack.cli import main
from mlstack.lineage import is_taggable
from mlstack.policy import POLICIES, reconcile
from mlstack.policy import publish
from mlstack.policy.kit import snapshot as pack_snapshot
from mlstack.policy.check import stack_tags_for
from mlstack.policy.publish import MANIFEST, build_pack
from venv_closure import Venv, make_venv, read_requirements

from .graphs import baseline
from .test_pack import violations, with_violations

HEAVY_DISTRIBUTIONS = {"sagemaker", "pulumi-aws", "pulumi-kubernetes", "numpy", "pyarrow", "botocore", "boto3"}
HEAVY_MODULES = {"sagemaker", "pulumi_aws", "pulumi_kubernetes", "numpy", "pyarrow", "botocore", "boto3"}
_LEVELS = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY, "disabled": analyzer_pb2.DISABLED}
_NAMES = {v: k for k, v in _LEVELS.items()}

# Logs the top-level name of every import the pack process attempts (failed ones too).
_IMPORT_LOG_HOOK = '''import os, sys
_path = os.environ.get("PACK_IMPORT_LOG")
if _path:
    _seen = set()
    def _hook(event, args):
        if event == "import":
            top = str(args[0]).split(".")[0]
            if top not in _seen:
                _seen.add(top)
                with open(_path, "a") as log:
                    log.write(top + "\\n")
    sys.addaudithook(_hook)
'''


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> Path:
    """The built pack, copied alone into an empty directory."""
    built = tmp_path_factory.mktemp("build") / "pack"
    build_pack(built)
    copied = tmp_path_factory.mktemp("published") / "mlstack-pack"
    shutil.copytree(built, copied)
    return copied


@pytest.fixture(scope="module")
def venv(pack, tmp_path_factory) -> Venv:
    """A fresh venv holding exactly the closure of the pack's requirements.txt, plus an import log."""
    made = make_venv(tmp_path_factory.mktemp("venv") / "venv", read_requirements(pack / "requirements.txt"))
    hooks = made.path / "hooks"
    hooks.mkdir()
    (hooks / "_pack_import_log.py").write_text(_IMPORT_LOG_HOOK)
    purelib = next(made.path.glob("lib/python*/site-packages"))
    (purelib / "zz_import_log.pth").write_text(f"{hooks}\nimport _pack_import_log\n")
    return made


class PackProcess:
    """The pack, started as the Python language host starts a policy pack, and a gRPC client."""

    def __init__(self, venv: Venv, pack: Path, log_dir: Path, *, stack_config: dict[str, str] | None = None) -> None:
        self.imports = log_dir / "imports.txt"
        self.stderr = log_dir / "stderr.txt"
        env = {"PACK_IMPORT_LOG": str(self.imports), "PULUMI_PROJECT": "mlstack", "PULUMI_STACK": "churn-prod", "PULUMI_DRY_RUN": "true"}
        if stack_config is not None:
            env["PULUMI_CONFIG"] = json.dumps(stack_config)  # what the host passes from the engine's stack config
        with self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [str(venv.python), "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(pack)],
                cwd=pack,
                env=venv.env(env),
                stdout=subprocess.PIPE,
                stderr=err,
            )
        ready, _, _ = select.select([self.process.stdout], [], [], 60)
        line = self.process.stdout.readline().decode().strip() if ready else ""
        if not line.isdigit():
            self.close()
            pytest.fail(f"the pack did not print its port (got {line!r}); stderr:\n{self.stderr.read_text()}")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)

    def close(self) -> None:
        if getattr(self, "channel", None) is not None:
            self.channel.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()

    def imported(self) -> set[str]:
        return set(self.imports.read_text().split()) if self.imports.exists() else set()

    def configure(self, config: dict | None, stack_tags: dict[str, str]) -> None:
        """What the CLI sends after GetAnalyzerInfo: every policy's reconciled config, then the stack's tags."""
        settings = reconcile(POLICIES, config)
        self.stub.Configure(
            analyzer_pb2.ConfigureAnalyzerRequest(
                policyConfig={
                    name: analyzer_pb2.PolicyConfig(enforcementLevel=_LEVELS[s.level], properties=_struct(s.properties))
                    for name, s in settings.items()
                }
            ),
            timeout=30,
        )
        self.stub.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(tags=stack_tags), timeout=30)

    def analyze(self, graph) -> set[tuple[str, str, str, str]]:
        """Every resource to Analyze, then the whole stack to AnalyzeStack, as `pulumi preview` does."""
        found = set()
        resources = []
        for r in graph.records:
            options = analyzer_pb2.AnalyzerResourceOptions(parent=r.parent or "")
            response = self.stub.Analyze(
                analyzer_pb2.AnalyzeRequest(type=r.type, properties=_struct(r.inputs), urn=r.urn, name=r.name, options=options),
                timeout=30,
            )
            found |= {(d.policyName, r.urn, _NAMES[d.enforcementLevel], d.message) for d in response.diagnostics}
            resources.append(
                analyzer_pb2.AnalyzerResource(
                    type=r.type, properties=_struct(r.inputs), urn=r.urn, name=r.name, options=options,
                    parent=r.parent or "", dependencies=r.dependencies,
                    propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v) for k, v in r.property_dependencies.items()},
                )  # fmt: skip
            )
        response = self.stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources), timeout=60)
        return found | {(d.policyName, d.urn, _NAMES[d.enforcementLevel], d.message) for d in response.diagnostics}


def _struct(value: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(value)
    return s


@pytest.fixture
def start(venv, pack, tmp_path) -> Iterator:
    started: list[PackProcess] = []

    def _start(**kwargs) -> PackProcess:
        process = PackProcess(venv, pack, tmp_path, **kwargs)
        started.append(process)
        return process

    yield _start
    for process in started:
        process.close()


def _violating_graph():
    g = with_violations(baseline("prod"))
    g.set("scoring-config", "productionVariants.0.instanceType", "ml.g5.xlarg")  # botocore's list, via the snapshot
    return g


# --- the published pack, over gRPC ---------------------------------------------------------------------


def test_published_pack_serves_the_policies_with_only_its_own_directory_and_requirements(start, venv, pack):
    process = start(stack_config=baseline("prod").stack_config())
    info = process.stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == "mlstack" and info.supportsConfig
    assert [p.name for p in info.policies] == [p.name for p in POLICIES]
    assert all(p.severity != analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED and p.displayName for p in info.policies)

    g = _violating_graph()
    config = {"mlstack-endpoint-requires-monitoring": "advisory"}
    process.configure(config, stack_tags_for("prod", team="churn", stack=g.stack))
    expected = violations(g.check(config))
    assert {v[0] for v in expected} >= {
        "mlstack-resource-has-lineage-tags",      # is the SNS topic taggable: pulumi-aws, via the snapshot
        "mlstack-instance-types-within-limits",   # is ml.g5.xlarg an endpoint type: botocore, via the snapshot
        "mlstack-image-pinned-by-digest",
        "mlstack-s3-bucket-blocks-public-access",
    }  # fmt: skip
    assert any("did you mean ml.g5.xlarge" in v[3] for v in expected)
    assert process.analyze(g) == expected
    assert process.analyze(baseline("prod")) == set()  # the compliant stack passes

    imported = process.imported()
    assert {"mlstack", "pulumi_policy", "pydantic"} <= imported  # the log works
    assert not imported & HEAVY_MODULES, "the published pack tried to import a heavy package"


def test_published_pack_fails_closed_when_configure_never_arrives(start):
    process = start()  # no stack config, no Configure, no ConfigureStack
    process.stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    g = _violating_graph()
    expected = violations(g.check(None, stack_config={}, tagged=False))
    assert {"mlstack-resource-has-lineage-tags", "mlstack-s3-bucket-blocks-public-access", "mlstack-instance-types-within-limits"} <= {v[0] for v in expected}
    assert process.analyze(g) == expected
    assert not process.imported() & HEAVY_MODULES


def test_fresh_venv_holds_only_the_light_closure_and_the_pack_brings_mlstack(venv, pack):
    assert not venv.distributions & HEAVY_DISTRIBUTIONS
    assert {"pulumi", "pulumi-policy", "pydantic"} <= venv.distributions
    assert "mlstack" not in venv.distributions
    where = subprocess.run(
        [str(venv.python), "-c", "import mlstack; print(mlstack.__file__)"], cwd=pack, env=venv.env(), capture_output=True, text=True
    )
    assert Path(where.stdout.strip()).resolve() == (pack / "mlstack" / "__init__.py").resolve(), where.stderr
    elsewhere = venv.run("-c", "import mlstack", cwd=pack)  # -P: only what the venv itself holds
    assert elsewhere.returncode != 0 and "No module named 'mlstack'" in elsewhere.stderr


# --- what the build writes ----------------------------------------------------------------------------------


def test_pack_holds_the_runtime_files_the_cli_reads(pack):
    meta = yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())
    assert meta["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
    assert meta["version"] == "0.1.0" and meta["description"]
    assert not (pack / "pyproject.toml").exists()  # else the host would run it as a package, not __main__.py
    assert "venv/" in (pack / ".gitignore").read_text().split()  # publish uploads what no .gitignore excludes
    main_py = (pack / "__main__.py").read_text()
    assert "install_bundled()" in main_py and "PolicyPack(**pack_arguments())" in main_py


def test_requirements_are_light_bounded_and_cover_every_import_of_the_vendored_code(pack):
    requirements = read_requirements(pack / "requirements.txt")
    assert {r.name for r in requirements} == {"pulumi", "pulumi-policy", "pydantic"}
    for r in requirements:
        assert any(s.operator == ">=" for s in r.specifier) and any(s.operator == "<" for s in r.specifier), str(r)
    assert Requirement("pulumi-policy>=1.18").specifier.contains("1.18.0")
    assert not any(r.specifier.contains("1.17.0") for r in requirements if r.name == "pulumi-policy")

    provided = {"pulumi", "pulumi_policy", "pydantic", "mlstack"}
    outside = set()
    for path in (pack / "mlstack").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module] if isinstance(node, ast.ImportFrom) and not node.level else []
            for name in names:
                top = name.split(".")[0]
                if top not in provided and top not in sys.stdlib_module_names and top != "__future__":
                    outside.add((path.relative_to(pack).as_posix(), top))
    # Answered by the snapshot (mlstack.botodata is reached only through catalog._enum, which it replaces).
    assert outside == {("mlstack/catalog/__init__.py", "botocore"), ("mlstack/botodata.py", "botocore")}


def test_pack_vendors_exactly_the_modules_the_pack_imports(pack):
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, mlstack.policy.pack, mlstack.policy.kit.snapshot; "
         "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] == 'mlstack')))"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    vendored = sorted(
        ".".join(p.relative_to(pack).with_suffix("").parts).removesuffix(".__init__") for p in (pack / "mlstack").rglob("*.py")
    )
    assert vendored == loaded
    assert (pack / "mlstack/catalog/accelerators.json").is_file() and (pack / "mlstack/catalog/instance_storage.json").is_file()
    assert not (pack / "mlstack/engine").exists() and not (pack / "mlstack/policy/check.py").exists()


def test_snapshot_answers_as_the_live_lookups_do(pack):
    snapshot = json.loads((pack / "mlstack/policy/kit" / pack_snapshot.SNAPSHOT_FILE).read_text())
    assert {use: set(types) for use, types in snapshot["instanceTypes"].items()} == {
        use.value: set(catalog.instance_types(use)) for use in catalog.Use
    }
    taggable = set(snapshot["taggableTypes"])
    assert len(taggable) > 500
    types = {r.type for r in baseline("prod").records if r.type.startswith("aws:")} | {
        "aws:iam/rolePolicy:RolePolicy", "aws:iam/role:Role", "aws:s3/bucketVersioning:BucketVersioning", "aws:cloudwatch/dashboard:Dashboard"
    }  # fmt: skip
    assert {t: t in taggable for t in types} == {t: is_taggable(t) for t in types}
    assert any(t in taggable for t in types) and not all(t in taggable for t in types)


def test_snapshot_replaces_the_lookups_in_the_process_that_installs_it():
    code = (
        "import sys, json; from mlstack.policy.kit import snapshot; from mlstack import catalog, lineage; "
        "snapshot.install({'instanceTypes': {u.value: ['ml.x.large'] for u in catalog.Use}, 'taggableTypes': ['aws:x/y:Y']}); "
        "print(json.dumps([sorted(catalog.instance_types('endpoint')), lineage.is_taggable('aws:x/y:Y'), "
        "lineage.is_taggable('aws:s3/bucket:Bucket'), 'botocore' in sys.modules, 'pulumi_aws' in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [["ml.x.large"], True, False, False, False]


def test_policy_import_path_never_imports_heavy_packages():
    code = (
        "import sys, mlstack.policy, mlstack.policy.check, mlstack.policy.publish; mlstack.policy.POLICIES; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    assert "pulumi_policy" in loaded
    assert not loaded & HEAVY_MODULES


# --- where the build writes ------------------------------------------------------------------------------


@pytest.fixture
def quick_snapshot(monkeypatch):
    """Directory handling does not need the real snapshot (reading pulumi-aws takes a second)."""
    fake = {"instanceTypes": {u.value: ["ml.m5.large"] for u in catalog.Use}, "taggableTypes": [], "recordedFrom": {"botocore": "0", "pulumi-aws": "0"}}
    monkeypatch.setattr(pack_snapshot, "record", lambda: fake)


def test_cli_builds_into_a_new_directory(tmp_path, quick_snapshot, capsys):
    assert main(["policy-pack", "build", str(tmp_path / "out"), "--version", "1.4.0"]) == 0
    assert yaml.safe_load((tmp_path / "out/PulumiPolicy.yaml").read_text())["version"] == "1.4.0"
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert "__main__.py" in manifest["files"] and "mlstack/policy/pack.py" in manifest["files"]
    assert "pulumi policy publish" in capsys.readouterr().out


def test_cli_refuses_a_non_empty_directory_that_is_not_a_pack_build(tmp_path, quick_snapshot, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["policy-pack", "build", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "notes.txt" in err and "not a policy pack built by mlstack" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"] and (tmp_path / "notes.txt").read_text() == "mine"


def test_cli_rejects_a_version_pulumi_cloud_would_not_take(tmp_path, quick_snapshot, capsys):
    assert main(["policy-pack", "build", str(tmp_path / "out"), "--version", "v1"]) == 2
    assert "--version: 'v1'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_rebuild_replaces_the_previous_build_and_leaves_the_rest(tmp_path, quick_snapshot):
    out = tmp_path / "out"
    build_pack(out)
    (out / "venv").mkdir()
    (out / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    stale = out / "mlstack" / "retired_rule.py"  # written by an older build, no longer part of the pack
    stale.write_text("# old\n")
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["files"]["mlstack/retired_rule.py"] = publish._digest(stale.read_bytes())
    (out / MANIFEST).write_text(json.dumps(manifest))

    build = build_pack(out, version="0.2.0")
    assert build.removed == ("mlstack/retired_rule.py",) and not stale.exists()
    assert (out / "venv" / "pyvenv.cfg").read_text() == "home = /usr/bin\n"
    assert yaml.safe_load((out / "PulumiPolicy.yaml").read_text())["version"] == "0.2.0"


def test_rebuild_refuses_to_overwrite_a_generated_file_someone_changed(tmp_path, quick_snapshot, capsys):
    out = tmp_path / "out"
    build_pack(out)
    (out / "requirements.txt").write_text("pulumi-policy\nmy-extra\n")
    assert main(["policy-pack", "build", str(out)]) == 2
    assert "requirements.txt (changed since the last build)" in capsys.readouterr().err
    assert (out / "requirements.txt").read_text() == "pulumi-policy\nmy-extra\n"


def test_rebuild_refuses_a_file_the_build_would_write_but_did_not(tmp_path, quick_snapshot, capsys):
    out = tmp_path / "out"
    build_pack(out)
    manifest = json.loads((out / MANIFEST).read_text())
    del manifest["files"]["mlstack/lineage.py"]
    (out / MANIFEST).write_text(json.dumps(manifest))
    (out / "mlstack" / "lineage.py").write_text("# someone's own\n")
    assert main(["policy-pack", "build", str(out)]) == 2
    assert "mlstack/lineage.py (not written by a build)" in capsys.readouterr().err
    assert (out / "mlstack" / "lineage.py").read_text() == "# someone's own\n"


def test_rebuild_never_deletes_outside_the_pack_directory(tmp_path, quick_snapshot, capsys):
    out = tmp_path / "out"
    build_pack(out)
    victim = tmp_path / "precious.txt"
    victim.write_text("keep")
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["files"]["../precious.txt"] = publish._digest(b"keep")
    (out / MANIFEST).write_text(json.dumps(manifest))
    assert main(["policy-pack", "build", str(out)]) == 2
    assert "not a manifest written by `mlstack policy-pack build`" in capsys.readouterr().err
    assert victim.read_text() == "keep"
