"""``mlstack check STACK... | --all``: several stacks in one command, one combined report.

Exit codes over all stacks (2 when one could not be checked, else 1 when one fails, else 0);
stacks of one program share a plan worker, stacks of another program never do; modules a
program imports from its own directory start afresh for each stack.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from conftest import BASELINE, ROOT
from mlstack.policy import multi

S3_PUBLIC = "mlstack-s3-bucket-blocks-public-access"

PROGRAM = """\
import os
import pulumi_aws as aws
import helper  # a module of the program's own directory, with state

helper.COUNT += 1
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "runs"), "a") as fh:
    fh.write(f"{os.getpid()} {helper.COUNT}\\n")
"""


def project(directory: Path, stacks: list[str], *, open_bucket: bool = False) -> list[Path]:
    """A Pulumi project of its own program with ``stacks``; ``open_bucket``: the program also
    registers a bucket the pack must fail."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text("name: many\nruntime: python\n")
    program = PROGRAM + ('aws.s3.Bucket("open-bucket", tags={"mlstack:team": "churn"})\n' if open_bucket else "")
    (directory / "__main__.py").write_text(program)
    (directory / "helper.py").write_text("COUNT = 0\n")
    paths = []
    for stack in stacks:
        path = directory / f"Pulumi.{stack}.yaml"
        path.write_text(yaml.safe_dump({"config": BASELINE}, sort_keys=False))
        paths.append(path)
    return paths


def runs(directory: Path) -> list[tuple[int, int]]:
    return [tuple(map(int, line.split())) for line in (directory / "runs").read_text().splitlines()]


@pytest.fixture(scope="module")
def two_projects(tmp_path_factory) -> dict:
    """One combined check of two stacks of a clean program and one stack of a failing program."""
    root = tmp_path_factory.mktemp("many")
    clean = project(root / "clean", ["churn-dev", "churn-dev-b"])
    failing = project(root / "failing", ["churn-dev"], open_bucket=True)
    outcomes = multi.check_stacks([str(p) for p in [*clean, *failing]], jobs=1)
    return {"root": root, "outcomes": outcomes}


def test_every_stack_gets_its_own_report_in_order(two_projects):
    outcomes = two_projects["outcomes"]
    assert [o.stack.rsplit("/", 2)[-2:] for o in outcomes] == [
        ["clean", "Pulumi.churn-dev.yaml"],
        ["clean", "Pulumi.churn-dev-b.yaml"],
        ["failing", "Pulumi.churn-dev.yaml"],
    ]
    assert [o.error for o in outcomes] == [None, None, None]
    assert [o.report.passed for o in outcomes] == [True, True, False]
    assert S3_PUBLIC in {v.policy for v in outcomes[2].report.mandatory}


def test_stacks_of_one_program_share_a_worker_and_other_programs_do_not(two_projects):
    root = two_projects["root"]
    clean, failing = runs(root / "clean"), runs(root / "failing")
    assert len(clean) == 2 and clean[0][0] == clean[1][0]
    assert failing[0][0] != clean[0][0]


def test_modules_of_the_program_start_afresh_for_each_stack(two_projects):
    # Each stack saw helper.COUNT == 1, as in a process of its own.
    assert [count for _, count in runs(two_projects["root"] / "clean")] == [1, 1]


def test_several_workers_when_cores_are_free(tmp_path):
    stacks = project(tmp_path, ["churn-dev", "churn-dev-b"])
    outcomes = multi.check_stacks([str(p) for p in stacks], jobs=2)
    assert [o.report.passed for o in outcomes] == [True, True]
    pids = {pid for pid, _ in runs(tmp_path)}
    assert len(pids) == 2


def test_batches_split_the_largest_program_group_until_there_are_enough():
    assert multi._batches([[0, 1, 2, 3], [4]], 1) == [[0, 1, 2, 3], [4]]
    assert sorted(multi._batches([[0, 1, 2, 3], [4]], 3)) == [[0, 1], [2, 3], [4]]
    assert sorted(multi._batches([[0], [1]], 8)) == [[0], [1]]


def test_cli_combined_text_report_and_exit_code_1_when_one_fails(cli, tmp_path):
    good = project(tmp_path / "good", ["churn-dev"])
    bad = project(tmp_path / "bad", ["churn-dev"], open_bucket=True)
    code, out, err = cli("check", str(good[0]), str(bad[0]), "--jobs", "1")
    assert code == 1, err
    assert f"[mandatory] {S3_PUBLIC}" in out
    assert out.count("churn-dev (dev): ") == 2
    assert out.splitlines()[-1] == "2 stacks: 1 passed, 1 failed, 0 not checked; FAILED"


def test_cli_a_stack_that_cannot_be_checked_is_exit_2_and_the_others_are_still_reported(cli, tmp_path):
    good = project(tmp_path, ["churn-dev"])
    broken = tmp_path / "Pulumi.churn-staging.yaml"
    broken.write_text(yaml.safe_dump({"config": {**BASELINE, "mlstack:environment": "production"}}))
    out_file = tmp_path / "report.json"
    code, out, err = cli("check", str(good[0]), str(broken), "--json", str(out_file))
    assert code == 2
    assert "Pulumi.churn-staging.yaml" in err and "mlstack:environment" in err and "'production'" in err
    assert "Traceback" not in err
    assert "churn-dev (dev): " in out and "not checked" in out
    assert out.splitlines()[-1] == "2 stacks: 1 passed, 0 failed, 1 not checked; FAILED"
    data = json.loads(out_file.read_text())
    assert data["passed"] is False
    assert [s.get("passed") for s in data["stacks"]] == [True, False]
    assert "mlstack:environment" in data["stacks"][1]["error"]


def test_cli_all_checks_every_stack_of_the_project_as_json(cli):
    code, out, err = cli("check", "--all", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    names = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    assert sorted(s["stack"] for s in data["stacks"]) == names and data["passed"] is True
    assert all(s["resources"] > 0 for s in data["stacks"])


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["check"], "name the stack to check"),
        (["check", "--all", "churn-dev"], "not both"),
        (["check", "churn-dev", "churn-prod", "--jobs", "0"], "--jobs must be at least 1 (got 0)"),
    ],
)
def test_cli_usage_errors_exit_2(cli, argv, needle):
    code, out, err = cli(*argv)
    assert code == 2 and needle in err and "Traceback" not in err


def test_cli_all_outside_a_project_is_a_usage_error(tmp_path, monkeypatch, capsys):
    from mlstack.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["check", "--all"]) == 2
    assert "there is no Pulumi.yaml here or above" in capsys.readouterr().err


def test_the_program_of_an_invalid_stack_file_never_runs(cli, tmp_path):
    # The plan worker starts before the judging process has validated the stack file; it
    # validates the file itself before the program runs, so a bad file stops both.
    [stack] = project(tmp_path, ["churn-dev"])
    stack.write_text(yaml.safe_dump({"config": {**BASELINE, "mlstack:environment": "production"}}))
    code, out, err = cli("check", str(stack))
    assert code == 2 and "mlstack:environment" in err and "'production'" in err
    assert not (tmp_path / "runs").exists()


def test_cli_with_no_stack_that_loads_reports_each_as_not_checked(cli, tmp_path):
    """Nothing to plan (every named stack is missing or invalid) is exit 2 with each stack
    reported, not an internal error from an empty batch of work."""
    code, out, err = cli("check", "no-such-stack", str(tmp_path / "Pulumi.missing.yaml"))
    assert code == 2, (out, err)
    assert out.splitlines()[-1] == "2 stacks: 0 passed, 0 failed, 2 not checked; FAILED"
    assert "internal error" not in err and "Traceback" not in err


def test_one_stacks_plan_worker_starts_before_the_pack_and_the_specs_are_imported():
    """What `mlstack check STACK` needs to start its plan worker (finding the file, spawning the
    worker) imports neither pulumi nor the specs nor the policy pack, so planning overlaps those
    imports (about 0.4 s of a warm check)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from mlstack.config.project import resolve_stack_file\n"
        "from mlstack.engine.isolation import start_worker\n"
        "heavy = [m for m in ('pulumi', 'pulumi_aws', 'pydantic', 'mlstack.specs.stack', 'mlstack.policy.pack') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_the_single_stack_check_hands_its_early_worker_to_the_check(monkeypatch, cli):
    from mlstack.policy import check as check_module

    seen = {}
    real = check_module.check_stack

    def spy(stack, **kwargs):
        seen["worker"] = kwargs.get("worker")
        return real(stack, **kwargs)

    monkeypatch.setattr(check_module, "check_stack", spy)
    code, out, err = cli("check", "churn-dev")
    assert code == 0, err
    assert seen["worker"] is not None and type(seen["worker"]).__name__ == "PendingPlans"
