"""Tests of ``mlstack-model-lineage-complete`` (mlstack/policy/rules/model_lineage_complete.py).

Each case changes one thing in a compliant baseline (tests/policy/graphs.py) and names the policies
that must then fail, and only those.
"""

from __future__ import annotations

import pytest

from ..cases import LINEAGE_COMPLETE, TRAINING, Case, assert_fails_exactly
from ..graphs import PACKAGE_ARN, baseline


CASES: list[Case] = [
    ("served-model-unnamed", "dev", lambda g: g.drop("scoring-model", "tags.mlstack:model"), {LINEAGE_COMPLETE}),
    ("served-model-without-registry", "dev", lambda g: g.remove("churn-xgb-group").set("scoring-model", "primaryContainer.modelPackageName", PACKAGE_ARN.replace("churn-churn-xgb", "elsewhere")), {LINEAGE_COMPLETE}),
    ("served-model-without-training", "dev", lambda g: g.remove(TRAINING), {LINEAGE_COMPLETE}),
]


@pytest.mark.parametrize("case, env, change, expected", CASES, ids=[c[0] for c in CASES])
def test_one_field_change_fails_exactly_the_policies_named(case, env, change, expected):
    assert_fails_exactly(change(baseline(env)), expected)


def test_declared_external_source_completes_lineage():
    g = baseline("dev").remove(TRAINING)
    g.set("churn-xgb-group", "tags.mlstack:source", "s3://partner-models/churn/")
    assert g.check().violations == []


def test_external_registry_in_config_completes_lineage():
    g = baseline("dev").remove("churn-xgb-group").remove(TRAINING)
    arn = "arn:aws:sagemaker:eu-west-1:345678901234:model-package/shared-churn/3"
    g.set("scoring-model", "primaryContainer.modelPackageName", arn)
    g.drop("defects-isvc", ("metadata", "labels", "mlstack.dev/model"))
    report = g.check({"mlstack-model-lineage-complete": {"externalRegistries": ["arn:aws:sagemaker:*:345678901234:model-package/*"]}})
    assert [v.policy for v in report.violations] == [LINEAGE_COMPLETE]  # the KServe service still says nothing
    assert "defects" in report.violations[0].message
