"""The pre-commit hooks (.pre-commit-hooks.yaml) and the composite GitHub Action (action.yml),
run as pre-commit and the Actions runner would run them."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import ROOT

HOOKS = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
SARIF_SCHEMA = json.loads((ROOT / "tests/data/sarif/sarif-schema-2.1.0.json").read_text())
BIN = str(Path(sys.executable).parent)


def test_the_check_hook_runs_on_stack_files_only():
    files = re.compile(HOOKS["mlstack-check"]["files"])
    assert files.search("stacks/Pulumi.churn-prod.yaml") and files.search("Pulumi.fraud-dev.yaml")
    assert not files.search("Pulumi.yaml") and not files.search("stacks/Pulumi.churn-prod.yaml.bak")
    assert HOOKS["mlstack-check"]["entry"] == "mlstack check" and HOOKS["mlstack-check"]["language"] == "python"


def test_the_declared_samples_hook_runs_on_stack_or_data_changes_and_checks_what_the_stack_declares():
    hook = HOOKS["mlstack-validate-samples"]
    files = re.compile(hook["files"])
    assert files.search("stacks/Pulumi.churn-prod.yaml") and files.search("data/customers.csv") and not files.search("Pulumi.yaml")
    assert hook["pass_filenames"] is False  # the stack file says which samples; changed names are not samples
    argv = [*shlex.split(hook["entry"]), "churn-prod"]  # entry, then the hook's args
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr
    assert "customers-good.csv: all 5 rows match" in done.stdout


def test_the_validate_data_hook_checks_the_files_pre_commit_passes():
    hook = HOOKS["mlstack-validate-data"]
    files = re.compile(hook["files"])
    samples = ["examples/data/customers-good.csv", "examples/data/customers-good.jsonl"]
    assert all(files.search(s) for s in samples)
    # pre-commit runs: entry, then the hook's args (here as the README shows them), then the files.
    argv = [*shlex.split(hook["entry"]), "churn-prod", "customers", *samples]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr
    assert "customers-good.csv: all 5 rows match" in done.stdout and "customers-good.jsonl: all 2 rows match" in done.stdout
    bad = subprocess.run([*argv[:-1], "examples/data/customers-bad.csv"], cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"})
    assert bad.returncode == 1 and "customers-bad.csv:3:" in bad.stdout


def _steps() -> dict[str, dict]:
    return {s.get("id") or s.get("name") or s.get("uses"): s for s in ACTION["runs"]["steps"]}


def test_the_action_is_composite_and_never_pastes_inputs_into_a_script():
    assert ACTION["runs"]["using"] == "composite"
    for step in ACTION["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], step.get("name")  # inputs arrive as environment variables
            assert step["shell"] == "bash"
    uses = [s["uses"] for s in ACTION["runs"]["steps"] if "uses" in s]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    assert {"stacks", "config", "sarif-file", "upload-sarif"} <= set(ACTION["inputs"])


def _run_check_step(tmp_path: Path, stacks: str, **env: str) -> tuple[int, dict[str, str], subprocess.CompletedProcess]:
    step = _steps()["check"]
    output = tmp_path / "github_output"
    output.write_text("")
    environment = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "GITHUB_OUTPUT": str(output), "STACKS": stacks, "CONFIG": "", "SARIF": str(tmp_path / "mlstack.sarif"), **env}
    done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=ROOT, env=environment, capture_output=True, text=True)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return done.returncode, outputs, done


def test_the_actions_check_step_writes_sarif_and_reports_the_verdict(tmp_path):
    code, outputs, done = _run_check_step(tmp_path, "tests/data/Pulumi.bad-prod.yaml\n")
    assert code == 0, done.stderr  # the step itself passes; the verdict step fails the job after the upload
    assert outputs["exit-code"] == "1" and outputs["sarif-file"].endswith("mlstack.sarif")
    log = json.loads((tmp_path / "mlstack.sarif").read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    assert log["runs"][0]["results"]
    verdict = _steps()["Verdict"]
    assert "exit-code == '1'" in verdict["if"] and "exit 1" in verdict["run"]


@pytest.mark.parametrize(
    "stacks, says",
    [
        ("", "names no stack"),
        ("no-such-stack", "no stack 'no-such-stack'"),
        # Words of the input are arguments of mlstack, never shell: nothing runs `touch`.
        ("x;touch {tmp}/pwned $(touch {tmp}/pwned2)", None),
    ],
)
def test_the_actions_check_step_stops_on_bad_input(tmp_path, stacks, says):
    code, outputs, done = _run_check_step(tmp_path, stacks.format(tmp=tmp_path))
    assert code == 2 and (says is None or says in done.stdout + done.stderr), done.stdout + done.stderr
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


def test_the_readme_hook_example_installs_the_pipelines_extra_as_pyproject_declares_it():
    import tomllib

    pipelines = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["pipelines"]
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```yaml\nrepos:\n(.*?)```", readme, re.S)
    assert block, "README.md: the pre-commit example is missing"
    hooks = yaml.safe_load("repos:\n" + block.group(1))["repos"][0]["hooks"]
    assert {h["id"] for h in hooks} <= set(HOOKS)
    check = next(h for h in hooks if h["id"] == "mlstack-check")
    assert check["additional_dependencies"] == pipelines
