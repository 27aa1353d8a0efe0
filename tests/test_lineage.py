"""Lineage tags on every taggable AWS resource of every bundled stack."""

from __future__ import annotations

import subprocess

import pytest

from conftest import bundled_stacks
from mlstack.lineage import GIT_COMMIT, REQUIRED_KEYS, Lineage, detect_git_commit, is_taggable as accepts_tags


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


def test_git_commit_override_from_environment_and_config(plan, write_stack, monkeypatch):
    monkeypatch.setenv("MLSTACK_GIT_COMMIT", "env1234")
    assert detect_git_commit() == "env1234"
    group = plan(write_stack({"mlstack:gitCommit": "cfg5678"})).by_type("aws:sagemaker/modelPackageGroup:ModelPackageGroup")[0]
    assert group.inputs["tags"][GIT_COMMIT] == "cfg5678"


def test_user_tags_cannot_override_lineage():
    lineage = Lineage(team="churn", environment="prod", stack="churn-prod", git_commit="abc", user_tags={"owner": "o"})
    tags = lineage.tags(extra={"mlstack:team": "forged"}, model_version="3")
    assert tags["mlstack:team"] == "churn"
    assert tags["mlstack:model-version"] == "3"
