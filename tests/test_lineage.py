"""Lineage tags on every taggable AWS resource of every bundled stack."""

from __future__ import annotations

import subprocess

import botocore.session
import pytest

from conftest import ROOT, bundled_stacks
from mlstack.config import load_stack
from mlstack.errors import ConfigError
from mlstack.lineage import GIT_COMMIT, MAX_TAGS, REQUIRED_KEYS, Lineage, detect_git_commit, is_taggable as accepts_tags, worst_case_tags


@pytest.mark.parametrize("stack", bundled_stacks(), ids=lambda p: p.name)
def test_every_taggable_aws_resource_carries_lineage_tags(plan, stack):
    graph = plan(stack)
    checked = 0
    for record in graph:
        if not record.custom or not record.type.startswith("aws:") or not accepts_tags(record.type):
            continue
        tags = record.inputs.get("tags") or {}
        missing = [k for k in (*REQUIRED_KEYS, "owner") if not tags.get(k)]
        assert not missing, f"{record.urn} lacks {missing}"
        checked += 1
    assert checked > 0, "the walk found no taggable resource: the check would pass vacuously"


def test_taggable_detection_reads_the_sdk():
    assert accepts_tags("aws:sagemaker/modelPackageGroup:ModelPackageGroup")
    assert accepts_tags("aws:s3/bucket:Bucket")
    assert not accepts_tags("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy")
    assert not accepts_tags("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert not accepts_tags("mlstack:index:ModelRegistry")


def test_model_and_data_resources_carry_dataset_lineage(plan):
    group = plan("churn-prod").by_type("aws:sagemaker/modelPackageGroup:ModelPackageGroup")[0]
    tags = group.inputs["tags"]
    assert tags["mlstack:dataset"] == "s3://example-churn-data/features/v3/"
    assert tags["mlstack:dataset-version"] == "2026-11-01"
    assert tags["mlstack:model"] == "churn-xgb"
    assert tags["owner"] == "churn-ml@example.com" and tags["cost-center"] == "cc-4711"
    assert tags["data-classification"] == "confidential"


def test_git_commit_is_detected_from_the_repository(plan, monkeypatch):
    from conftest import ROOT

    monkeypatch.delenv("MLSTACK_GIT_COMMIT", raising=False)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    group = plan("churn-dev").by_type("aws:sagemaker/modelPackageGroup:ModelPackageGroup")[0]
    assert group.inputs["tags"][GIT_COMMIT] == (head or "unknown")


def test_git_commit_is_unknown_outside_git(tmp_path, monkeypatch):
    monkeypatch.delenv("MLSTACK_GIT_COMMIT", raising=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert detect_git_commit(tmp_path) == "unknown"


ENV_COMMIT = "e" * 40
CONFIG_COMMIT = "c0ffee" + "0" * 34


def test_git_commit_override_from_environment_and_config(plan, write_stack, monkeypatch):
    monkeypatch.setenv("MLSTACK_GIT_COMMIT", ENV_COMMIT)
    assert detect_git_commit() == ENV_COMMIT
    group = plan(write_stack({"mlstack:gitCommit": CONFIG_COMMIT})).by_type("aws:sagemaker/modelPackageGroup:ModelPackageGroup")[0]
    assert group.inputs["tags"][GIT_COMMIT] == CONFIG_COMMIT
    group = plan(write_stack()).by_type("aws:sagemaker/modelPackageGroup:ModelPackageGroup")[0]
    assert group.inputs["tags"][GIT_COMMIT] == ENV_COMMIT


@pytest.mark.parametrize(
    "value, needle",
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("unknown", "'unknown' is what mlstack records when it finds no git repository"),
        ("HEAD", "is not a git commit hash"),
        ("v1.4.0", "is not a git commit hash"),
        ("abc", "is not a git commit hash"),  # shorter than git's shortest abbreviation
        ("a" * 41, "is not a git commit hash"),
        ("ABCDEF1", "write the hash in lower case"),
    ],
)
def test_bad_commit_in_the_environment_exits_2_naming_the_variable(cli, monkeypatch, value, needle):
    monkeypatch.setenv("MLSTACK_GIT_COMMIT", value)
    code, _, err = cli("plan", "churn-dev")
    assert code == 2, err
    assert "MLSTACK_GIT_COMMIT: " in err and needle in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "value, needle",
    [
        ("", "is empty"),
        ("unknown", "'unknown' is what mlstack records"),
        ("main", "is not a git commit hash"),
        ("1234567 ", "is not a git commit hash"),
    ],
)
def test_bad_commit_in_the_stack_file_exits_2_at_the_key(cli, write_stack, value, needle):
    code, _, err = cli("plan", str(write_stack({"mlstack:gitCommit": value})))
    assert code == 2
    assert "mlstack:gitCommit: " in err and needle in err
    assert "Traceback" not in err


def test_commits_as_git_writes_them_are_accepted(write_stack, monkeypatch):
    monkeypatch.delenv("MLSTACK_GIT_COMMIT", raising=False)
    for commit in ("c0ffee", "1234567", "f" * 40, "0" * 64):
        assert load_stack(write_stack({"mlstack:gitCommit": commit})).spec.git_commit == commit


def test_unset_environment_variable_still_detects_git(monkeypatch):
    monkeypatch.delenv("MLSTACK_GIT_COMMIT", raising=False)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert detect_git_commit(ROOT) == (head or "unknown")


def test_empty_environment_commit_is_an_error_not_a_fallback_to_git(monkeypatch):
    monkeypatch.setenv("MLSTACK_GIT_COMMIT", "")
    with pytest.raises(ConfigError, match="MLSTACK_GIT_COMMIT: is empty"):
        detect_git_commit(ROOT)


# -- at most 50 tags on every resource, lineage tags included -----------------------------------------


def test_tag_limit_is_sagemakers():
    model = botocore.session.get_session().get_service_model("sagemaker")
    assert model.shape_for("TagList").metadata["max"] == MAX_TAGS


def _user_tags(n: int) -> dict[str, str]:
    return {f"tag-{i:02d}": "x" for i in range(n)}


def test_user_tags_that_fit_beside_the_lineage_tags_plan_with_exactly_50(plan, write_stack):
    # churn-dev's baseline: owner + the tags; the registry group adds 4 required lineage tags,
    # model, dataset, dataset-version and approval-mode: 8.
    stack = write_stack({"mlstack:tags": _user_tags(MAX_TAGS - 1 - 8)})
    group = plan(stack).by_type("aws:sagemaker/modelPackageGroup:ModelPackageGroup")[0]
    assert len(group.inputs["tags"]) == MAX_TAGS


def test_one_tag_too_many_after_lineage_exits_2_naming_the_resource_and_the_fix(cli, write_stack):
    stack = write_stack({"mlstack:tags": _user_tags(MAX_TAGS - 8)})
    code, _, err = cli("plan", str(stack))
    assert code == 2
    assert "mlstack:tags: the registry group of model 'churn-xgb' would carry 51 tags" in err
    assert "AWS allows 50 per resource: drop at least 1 from mlstack:tags" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("stack", [p for p in bundled_stacks()], ids=lambda p: p.name)
def test_worst_case_tag_count_bounds_every_planned_resource_and_is_reached(plan, stack):
    spec = load_stack(stack, cwd=ROOT).spec
    predicted = max(count for _, count in worst_case_tags(spec))
    counts = [len(r.inputs.get("tags") or {}) for r in plan(stack) if r.custom and r.type.startswith("aws:")]
    assert max(counts) == predicted  # a component adding a tag the prediction misses fails here


@pytest.mark.parametrize(
    "value, needle",
    [
        ("a\tb", "no tabs or line breaks"),
        ("line\nbreak", "no tabs or line breaks"),
        ("semi;colon", "may hold letters, digits, spaces"),
    ],
)
def test_tag_values_aws_refuses_are_refused_at_the_key(cli, write_stack, value, needle):
    code, _, err = cli("plan", str(write_stack({"mlstack:tags": {"team-name": value}})))
    assert code == 2
    assert "mlstack:tags.team-name: " in err and needle in err


def test_tag_character_rule_is_botocores():
    from mlstack.specs.base import TAG_PATTERN

    model = botocore.session.get_session().get_service_model("sagemaker")
    for shape in ("TagKey", "TagValue"):
        assert model.shape_for(shape).metadata["pattern"] == f"({TAG_PATTERN})"


def test_dataset_uri_must_fit_in_its_tag(cli, write_stack):
    uri = "s3://example-churn-data/" + "x" * 240
    models = [{"name": "churn-xgb", "dataset": {"uri": uri}}]
    code, _, err = cli("plan", str(write_stack({"mlstack:models": models})))
    assert code == 2
    assert "mlstack:models[0].dataset.uri: is recorded in the mlstack:dataset tag, and is 264 characters" in err
    models = [{"name": "churn-xgb", "dataset": {"uri": "s3://example-churn-data/a,b/"}}]
    code, _, err = cli("plan", str(write_stack({"mlstack:models": models})))
    assert code == 2 and "holds ','" in err


def test_user_tags_cannot_override_lineage():
    lineage = Lineage(team="churn", environment="prod", stack="churn-prod", git_commit="abc", user_tags={"owner": "o"})
    tags = lineage.tags(extra={"mlstack:team": "forged"}, model_version="3")
    assert tags["mlstack:team"] == "churn"
    assert tags["mlstack:model-version"] == "3"
