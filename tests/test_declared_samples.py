"""`mlstack validate-data STACK --samples`: the samples a feature group declares
(`mlstack:featureGroups[].samples`) are checked against its schema; a declared sample that cannot
be checked is never a pass."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path):
    """A copy of the project (Pulumi.yaml, stacks/, the example data)."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    shutil.copytree(ROOT / "examples" / "data", tmp_path / "data")
    return tmp_path


def declare(project: Path, samples: list[str]) -> str:
    path = project / "stacks" / "Pulumi.churn-prod.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["mlstack:featureGroups"][0]["samples"] = samples
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return str(path)


def test_churn_prod_declares_samples_that_pass(cli):
    code, out, err = cli("validate-data", "churn-prod", "--samples")
    assert code == 0, err
    assert "examples/data/customers-good.csv: all 5 rows match" in out and "customers-good.jsonl: all 2 rows match" in out


def test_a_bad_declared_sample_fails_with_its_rows(cli, project):
    stack = declare(project, ["data/customers-good.csv", "data/customers-bad.*"])
    code, out, err = cli("validate-data", stack, "--samples", "--format", "junit", "--output", str(project / "r.xml"))
    assert code == 1, err
    assert "data/customers-bad.csv:9: row 8: column 'tenure_months'" in out and "data/customers-bad.jsonl" in out
    assert (project / "r.xml").read_text().count("<testsuite ") == 3  # one suite per file checked


@pytest.mark.parametrize(
    "samples, says",
    [
        (["data/*.parquet"], "mlstack:featureGroups[0].samples[0]: 'data/*.parquet' matches no file"),
        (["../outside.csv"], "must be a path or glob pattern inside the project"),
        (["/etc/passwd"], "must be a path or glob pattern inside the project"),
    ],
    ids=["matches-nothing", "dot-dot", "absolute"],
)
def test_a_declared_sample_that_cannot_be_checked_is_refused_at_its_key(cli, project, samples, says):
    stack = declare(project, samples)
    code, out, err = cli("validate-data", stack, "--samples")
    assert code == 2, (out, err)
    assert says in err and "Traceback" not in err


def test_a_sample_that_leads_outside_the_project_through_a_link_is_refused(cli, project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "rows.csv"
    shutil.copy(project / "data" / "customers-good.csv", outside)
    os.symlink(outside, project / "data" / "linked.csv")
    stack = declare(project, ["data/linked.csv"])
    code, out, err = cli("validate-data", stack, "--samples")
    assert code == 2 and "leads outside the project" in err, (out, err)


@pytest.mark.parametrize(
    "argv, says",
    [
        (("validate-data", "churn-dev", "--samples"), "no feature group of stack 'churn-dev' declares samples"),
        (("validate-data", "churn-prod", "orders", "--samples"), "declares no feature group 'orders'"),
        (("validate-data", "churn-prod"), "or pass --samples"),
        (("validate-data", "churn-prod", "customers", "--samples", "--print-schema"), "drop --samples"),
    ],
)
def test_samples_usage_errors(cli, argv, says):
    code, out, err = cli(*argv)
    assert code == 2 and says in err, (out, err)
