"""Heavy dependencies only where they are used.

Two kinds of checks, each in fresh subprocesses:

* which of mlstack's declared third-party distributions (pyproject's dependencies and extras)
  each entry point imports, in the full test environment;
* what a core install (pyproject's ``dependencies`` only, nothing from an extra) can do: built
  offline as a fresh venv exposing exactly their closure (see ``venv_closure``). It plans,
  checks and validates stacks without training; a stack with training stops with the install
  command of the ``pipelines`` extra, under ``mlstack plan`` (exit 2) and under the Pulumi
  language host's way of running a program (a RunError, shown without a traceback, before
  anything is registered).
"""

from __future__ import annotations

import json
import re
from importlib import metadata
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from venv_closure import ROOT, Venv, make_venv

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
CORE = [Requirement(r) for r in PROJECT["dependencies"]]
EXTRAS = {name: [Requirement(r) for r in reqs] for name, reqs in PROJECT["optional-dependencies"].items()}


def names(requirements: list[Requirement]) -> set[str]:
    return {canonicalize_name(r.name) for r in requirements}


SDK = "sagemaker"
#: The distributions of the SDK's import package (``sagemaker`` itself is a meta-distribution
#: of sagemaker-core, -train, -serve and -mlops, which hold the code).
SDK_PACKAGES = {canonicalize_name(d) for d in metadata.packages_distributions().get(SDK, ())}
#: The distributions whose imports are tracked: everything mlstack declares, and the SDK's.
WATCHED = names(CORE).union(*(names(reqs) for reqs in EXTRAS.values())) | SDK_PACKAGES
TEST_ONLY = names(EXTRAS["test"]) - names(CORE) - names(EXTRAS["drift"]) - names(EXTRAS["data"])
#: What the policy pack may import: Pulumi Cloud installs only these for a published pack.
POLICY_PACK_ALLOWED = {"pulumi", "pulumi-policy", "pydantic", "pyyaml"}

STACK = ROOT / "stacks"
NO_TRAINING = STACK / "Pulumi.vision-prod.yaml"  # KServe endpoint, no training
WITH_TRAINING = STACK / "Pulumi.churn-prod.yaml"  # SageMaker endpoint, training pipeline


# -- which packages each entry point imports ---------------------------------------------------

PROBE = r"""
import importlib, json, runpy, sys
from importlib import metadata

out, kind, *args = sys.argv[1:]
before = {name.partition(".")[0] for name in sys.modules}
code = 0
try:
    if kind == "import":
        for module in args:
            importlib.import_module(module)
    elif kind == "exec":
        exec(args[0], {})
    elif kind == "cli":
        from mlstack.cli import main
        code = main(args)
    elif kind == "module":
        sys.argv = [args[0], *args[1:]]
        runpy.run_module(args[0], run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
imported = {name.partition(".")[0] for name in sys.modules} - before
owners = metadata.packages_distributions()
found = sorted({d for top in imported for d in owners.get(top, ())})
with open(out, "w") as fh:
    json.dump({"code": code, "distributions": found}, fh)
"""


def imports_of(tmp_path: Path, kind: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, set[str]]:
    """(exit code, mlstack's declared distributions imported) of one entry point, run in a
    fresh interpreter of the test environment from the repository root."""
    import subprocess

    out = tmp_path / f"imports-{len(list(tmp_path.iterdir()))}.json"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), kind, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.exists(), result.stderr[-3000:]
    data = json.loads(out.read_text())
    return data["code"], {canonicalize_name(d) for d in data["distributions"]} & WATCHED


def test_watched_packages_cover_every_extra() -> None:
    # The checks below mean something only if the optional packages are among the watched.
    assert {SDK, "numpy", "pyarrow", "pulumi", "pulumi-aws", "pulumi-kubernetes", "pytest", "moto"} <= WATCHED
    assert "sagemaker-core" in SDK_PACKAGES  # the test command installs the pipelines extra
    assert set(EXTRAS) >= {"pipelines", "drift", "data", "test"}


def test_sdk_and_the_jobs_packages_are_not_core_dependencies() -> None:
    # s3fs only narrows the resolver's search for the SDK's own dependency (see pyproject.toml).
    assert names(EXTRAS["pipelines"]) == {SDK, "s3fs"}
    assert not names(CORE) & {SDK, "numpy", "pyarrow", "scipy", "pandas"}


def test_import_mlstack_imports_no_third_party_package(tmp_path: Path) -> None:
    assert imports_of(tmp_path, "import", "mlstack") == (0, set())


def test_mlstack_help_imports_no_third_party_package(tmp_path: Path) -> None:
    assert imports_of(tmp_path, "cli", "--help") == (0, set())


def test_policy_pack_rules_import_only_what_a_published_pack_installs(tmp_path: Path) -> None:
    code, found = imports_of(tmp_path, "exec", "import mlstack.policy\nfrom mlstack.policy import POLICIES\nassert POLICIES")
    assert code == 0
    assert "pulumi-policy" in found  # the rules were loaded
    assert found <= POLICY_PACK_ALLOWED, f"the policy pack imports {sorted(found - POLICY_PACK_ALLOWED)}"


def test_drift_job_help_imports_no_third_party_package(tmp_path: Path) -> None:
    assert imports_of(tmp_path, "module", "mlstack.drift", "--help") == (0, set())


def test_drift_job_run_imports_only_numpy_and_boto3(tmp_path: Path, aws_session) -> None:
    work = tmp_path / "work"
    (work / "capture").mkdir(parents=True)
    (work / "capture" / "part.jsonl").write_text(
        json.dumps({"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": "3", "encoding": "CSV"}}})
        + "\n"
    )
    (work / "baseline.csv").write_text("tenure\n1\n2\n3\n")
    code, found = imports_of(
        tmp_path, "module", "mlstack.drift", "--endpoint-name", "churn-scoring", "--window-hours", "0",
        "--capture-uri", str(work / "capture"), "--baseline-uri", str(work / "baseline.csv"),
        env=aws_session.env,  # CloudWatch of the AWS test endpoint
    )  # fmt: skip
    assert code == 0
    assert found == {"numpy", "boto3"}


def test_plan_of_a_stack_without_training_does_not_import_the_sdk(tmp_path: Path) -> None:
    code, found = imports_of(tmp_path, "cli", "plan", str(NO_TRAINING))
    assert code == 0
    assert {"pulumi", "pulumi-aws", "pulumi-kubernetes"} <= found
    assert not found & ({"numpy", "pyarrow"} | SDK_PACKAGES | TEST_ONLY), sorted(found)


def test_check_of_a_stack_without_training_does_not_import_the_sdk(tmp_path: Path) -> None:
    code, found = imports_of(tmp_path, "cli", "check", str(NO_TRAINING))
    assert code in (0, 1)
    assert "pulumi-policy" in found
    assert not found & ({"numpy", "pyarrow"} | SDK_PACKAGES | TEST_ONLY), sorted(found)


def test_day2_commands_do_not_import_the_sdk(tmp_path: Path) -> None:
    code, found = imports_of(tmp_path, "cli", "status", "--help")
    assert code == 0
    assert "pulumi" in found or "boto3" in found  # the ops commands were loaded
    assert not found & ({"numpy", "pyarrow"} | SDK_PACKAGES | TEST_ONLY), sorted(found)


def test_plan_of_a_stack_with_training_imports_the_sdk(tmp_path: Path) -> None:
    code, found = imports_of(tmp_path, "cli", "plan", str(WITH_TRAINING))
    assert code == 0
    assert {"sagemaker-core", "sagemaker-mlops"} <= found
    # numpy, pyarrow and scipy come with the SDK here (pandas, its dependencies).
    assert not found & {"pulumi-kubernetes", "pytest", "moto"}, sorted(found)


# -- a core install ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A venv with exactly pyproject's core dependencies (and their own), and mlstack's source."""
    return make_venv(tmp_path_factory.mktemp("core-install") / "venv", CORE, mlstack_source=True)


def test_core_install_has_no_optional_package(core_venv: Venv) -> None:
    probe = "import importlib.util as u; print(','.join(n for n in ('sagemaker', 'numpy', 'pyarrow', 'pulumi', 'mlstack') if u.find_spec(n)))"
    result = core_venv.run("-c", probe)
    assert result.stdout.strip() == "pulumi,mlstack", result.stderr


def test_core_install_plans_and_checks_a_stack_without_training(core_venv: Venv) -> None:
    plan = core_venv.run("-m", "mlstack", "plan", str(NO_TRAINING), cwd=ROOT)
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert "InferenceService" in plan.stdout
    check = core_venv.run("-m", "mlstack", "check", str(NO_TRAINING), cwd=ROOT)
    assert check.returncode in (0, 1), check.stderr[-3000:]
    assert "policies over" in check.stdout


def test_core_install_validates_data_like_the_full_install(core_venv: Venv) -> None:
    # Without pyarrow, validate-data takes its pure-Python path and reports the same problems.
    argv = ["-m", "mlstack", "validate-data", "churn-prod", "customers", str(ROOT / "examples/data/customers-bad.csv")]
    core = core_venv.run(*argv, cwd=ROOT)
    import subprocess

    full = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert core.returncode == full.returncode == 1, core.stderr[-2000:]
    assert core.stdout == full.stdout


def test_core_install_stops_plan_of_a_stack_with_training_naming_the_extra(core_venv: Venv) -> None:
    result = core_venv.run("-m", "mlstack", "plan", str(WITH_TRAINING), cwd=ROOT)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "mlstack:models[0].training: model 'churn-xgb'" in result.stderr
    assert "pip install 'mlstack[pipelines]'" in result.stderr


def test_core_install_stops_check_of_a_stack_with_training_naming_the_extra(core_venv: Venv) -> None:
    result = core_venv.run("-m", "mlstack", "check", str(WITH_TRAINING), cwd=ROOT)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "pip install 'mlstack[pipelines]'" in result.stderr


#: The stack program run the way Pulumi's Python language host runs it
#: (sdk/python/cmd/pulumi-language-python-exec: ``run_in_stack``, then a RunError is logged as
#: its message alone, any other exception with its traceback), on Pulumi's mock monitor.
LANGUAGE_HOST = r"""
import asyncio, json, sys
import pulumi
from pulumi.runtime.mocks import MockEngine, MockMonitor, MockSettings
from pulumi.runtime.settings import configure
from mlstack.config import load_stack

stack = load_stack(sys.argv[1])
registered = []

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        registered.append(args.typ)
        return [args.name + "-id", dict(args.inputs, arn="arn:aws:sagemaker:us-east-1:123456789012:x/" + args.name)]

    def call(self, args):
        return {}

loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
monitor = MockMonitor(Mocks())
features = set(monitor.GetDeploymentInfo(None).supportedFeatures)
configure(MockSettings(monitor=monitor, monitor_features=features, engine=MockEngine(None), project="mlstack",
                       stack=stack.stack, dry_run=False, organization="organization", callbacks=None))
pulumi.runtime.set_all_config(stack.pulumi_config())
from mlstack.program import main

outcome = {"error": None, "unhandled": None}
try:
    loop.run_until_complete(pulumi.runtime.run_in_stack(main))
except pulumi.RunError as exc:
    outcome["error"] = str(exc)
except Exception as exc:
    outcome["unhandled"] = repr(exc)
outcome["registered"] = registered
print(json.dumps(outcome))
"""


def test_core_install_stops_the_deployment_of_a_stack_with_training_before_registering_anything(
    core_venv: Venv, aws_session
) -> None:
    # churn-dev trains and serves; its deploy-time lookups (account, latest Approved version)
    # go to the AWS test endpoint, so only the missing SDK can stop the program.
    result = core_venv.run("-c", LANGUAGE_HOST, str(STACK / "Pulumi.churn-dev.yaml"), cwd=ROOT, env=aws_session.env)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["unhandled"] is None
    assert outcome["error"] and "pip install 'mlstack[pipelines]'" in outcome["error"], outcome
    assert "mlstack:models[0].training: model 'churn-xgb'" in outcome["error"]
    assert outcome["registered"] == []


def test_the_language_host_run_registers_a_stack_when_nothing_is_missing(aws_session) -> None:
    # The same run in the full environment gets past that point (so the test above can fail).
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", LANGUAGE_HOST, str(STACK / "Pulumi.churn-dev.yaml")],
        cwd=ROOT, env=aws_session.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert "mlstack[pipelines]" not in json.dumps(outcome)
    # Registered before the run ends (these mocks answer too little for the whole stack).
    assert {"mlstack:index:ModelRegistry", "mlstack:index:TrainingPipeline"} <= set(outcome["registered"]), outcome


# -- the documented commands -----------------------------------------------------------------------


def readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"Run the whole test suite:\s*```sh\n(.+?)\n```", readme, re.S)
    assert match, "README.md: the test command block after 'Run the whole test suite:' is missing"
    return match.group(1).strip()


def test_readme_test_command_is_what_ci_runs_and_installs_the_extras() -> None:
    command = readme_test_command()
    assert "pip install -e '.[pipelines,test]'" in command
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci


def test_readme_commands_that_plan_check_or_test_stacks_with_training_install_the_pipelines_extra() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = [b for b in re.findall(r"```[a-z]*\n(.*?)```", readme, re.S) if "pip install" in b and ("churn-" in b or "pytest" in b)]
    assert len(blocks) >= 3  # try it, the test suite, the CI workflow
    for block in blocks:
        installs = re.findall(r"pip install (-e \S+|\S*mlstack\S*)", block)
        assert installs, block
        for install in installs:
            assert "pipelines" in install, f"README.md: `pip install {install}` cannot plan churn stacks (they train)"


@pytest.mark.parametrize(
    ("installed", "reason"),
    [(None, "is not installed"), ("2.232.1", "sagemaker 2.232.1 is installed; pipeline definitions are built with sagemaker>=3,<4"), ("3.27.0", None)],
)
def test_sdk_check_reads_the_installed_version_without_importing_it(monkeypatch: pytest.MonkeyPatch, installed: str | None, reason: str | None) -> None:
    from mlstack.components.training import sdk as definition

    def version(name: str) -> str:
        assert name == "sagemaker"
        if installed is None:
            raise metadata.PackageNotFoundError(name)
        return installed

    monkeypatch.setattr(metadata, "version", version)
    found = definition.sdk_missing()
    assert (found is None) if reason is None else (reason in found)
