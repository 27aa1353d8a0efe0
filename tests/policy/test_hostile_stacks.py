"""A growing regression file of stacks written to slip past the rules that must hold in spirit
(issue 11, items 3 and 5): a 0 s bake, alarms that cannot fire, drift thresholds no data crosses,
trivial gates, automatic approval in prod, uncapped training GPUs, KServe nodes outside the
limits, no network isolation, no VPC in prod, a prod account declared dev.

Two kinds of entries:

* stack files, checked with ``mlstack check`` as CI runs it (what the YAML validation lets
  through must still be judged by the pack);
* resource graphs as a Python stack could register them, bypassing the YAML validation, each a
  change of the compliant baseline (graphs.py) phrased to dodge a naive check (a threshold as a
  string, the percentage written ``x * 100``, a gate nested in a branch, an upper-case tag...).

Add an entry whenever a new way past a rule is found.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest
import yaml

from conftest import ROOT

from .graphs import ACCOUNT, KEY_ARN, Graph, baseline, iam_baseline
from .hostile_stacks import HOSTILE as HOSTILE_IAM

VPC = "mlstack-sagemaker-runs-in-vpc"
ROLLOUT = "mlstack-endpoint-requires-progressive-rollout"
MONITORING = "mlstack-endpoint-requires-monitoring"
INSTANCES = "mlstack-instance-types-within-limits"
BUDGET = "mlstack-stack-within-budget"
APPROVED = "mlstack-endpoint-serves-approved-package"
GATES = "mlstack-pipeline-gates-registration"
ACCOUNTS = "mlstack-stack-environment-matches-account"
TRAINING = "churn-xgb-training-pipeline"
ROUTING = "deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration"
PROD_ACCOUNT = "210987654321"
DEV_ACCOUNT = "111122223333"


def found(report) -> set[str]:
    return {v.policy for v in report.violations}


def texts(report) -> list[str]:
    return [f"{v.policy}: {v.message}" for v in report.violations]


# -- stack files ----------------------------------------------------------------------------------


def _write(tmp_path, name: str, source: str, change: Callable[[dict], None]) -> str:
    document = yaml.safe_load((ROOT / "stacks" / source).read_text())
    change(document["config"])
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return str(path)


def _letter_only_prod(config: dict) -> None:
    """churn-prod with every rule kept on paper only; each value passes the YAML validation."""
    config["mlstack:registry"]["approvalMode"] = "automatic"
    model = config["mlstack:models"][0]
    model["gates"] = [
        {"metric": "accuracy", "op": ">=", "threshold": "last-approved", "tolerance": 0.5},
        {"metric": "auc", "op": ">=", "threshold": 0},
        {"metric": "bias_delta", "op": "<=", "threshold": 0.01},
    ]
    model["training"]["train"].update(instanceType="ml.g5.12xlarge", instanceCount=40)  # 160 GPUs, on spot
    model["training"]["networkIsolation"] = False
    endpoint = config["mlstack:endpoints"][0]
    endpoint["networkIsolation"] = False
    endpoint["rollout"].update(waitIntervalSeconds=0, maxErrorRatePercent=100, maxLatencyMs=120_000)
    monitor = config["mlstack:monitors"][0]
    monitor["alarms"]["errors5xxPercent"] = 100
    monitor["drift"].update(threshold=50, klThreshold=20, featuresDriftedThreshold=9)
    monitor["drift"].pop("featureThresholds")


def test_a_prod_stack_file_that_keeps_every_rule_in_letter_only_fails_on_each(cli, tmp_path):
    path = _write(tmp_path, "churn-prod", "Pulumi.churn-prod.yaml", _letter_only_prod)
    report = tmp_path / "report.json"
    code, out, err = cli("check", path, "--json", str(report))
    assert code == 1, out + err
    violations = [(v["policy"], v["message"]) for v in json.loads(report.read_text())["violations"]]

    def caught(policy: str, *words: str) -> bool:
        return any(p == policy and all(w in m for w in words) for p, m in violations)

    assert caught(ROLLOUT, "bake for at least 300 s", "waits 0 s")
    assert caught(ROLLOUT, "'churn-scoring-5xx-error-rate'", "can never be")
    assert caught(ROLLOUT, "'churn-scoring-p99-model-latency'", "at most 60 s", "can never be")
    assert caught(MONITORING, "'churn-prod-scoring-errors-5xx'", "percent", "can never be")
    assert caught(MONITORING, "feature-drift-tenure_months", "PSI (at most 27.63)")
    assert caught(MONITORING, "feature-kl-contract", "KL divergence (at most 13.82)")
    assert caught(MONITORING, "features-drifted", "at most 4, the features the drift job measures")
    assert caught(GATES, "auc >= 0", "every value passes")
    assert caught(GATES, "tolerance is 0.5")
    assert caught(GATES, "PendingManualApproval in prod", "registers them as Approved")
    assert caught(GATES, "model package group 'churn-churn-xgb'", "approval mode is automatic")
    assert caught(INSTANCES, "at most 128 GPUs in prod", "can use 160")
    assert caught(VPC, "SageMaker model 'scoring-model'", "network-isolated")
    assert caught(VPC, "training job", "network-isolated")


def test_a_prod_stack_file_without_a_vpc_fails_the_check(cli, tmp_path):
    def change(config: dict) -> None:
        config["mlstack:endpoints"][0].pop("vpc")

    path = _write(tmp_path, "vision-prod", "Pulumi.vision-prod.yaml", lambda c: None)
    assert cli("check", path)[0] == 0
    path = _write(tmp_path, "churn-prod", "Pulumi.churn-prod.yaml", change)
    code, out, _ = cli("check", path)
    assert code == 1 and f"[mandatory] {VPC}" in out and "must run its endpoint containers inside a VPC" in out


def test_a_kserve_stack_file_in_staging_keeps_rollout_and_node_limits(cli, tmp_path):
    def change(config: dict) -> None:
        config["mlstack:environment"] = "staging"
        endpoint = config["mlstack:endpoints"][0]
        endpoint["rollout"] = {"type": "ALL_AT_ONCE"}
        endpoint["kserve"]["nodeSelector"] = {"workload": "inference", "node.kubernetes.io/instance-type": "p5e.48xlarge"}

    code, out, err = cli("check", _write(tmp_path, "vision-staging", "Pulumi.vision-prod.yaml", change))
    assert code == 1, out + err
    assert f"[mandatory] {ROLLOUT}" in out and "canaryTrafficPercent" in out
    assert f"[mandatory] {INSTANCES}" in out and "p5e.48xlarge must not be used in staging" in out


def test_a_prod_account_stack_file_declared_dev_fails_with_the_account_binding(cli, tmp_path):
    def change(config: dict) -> None:
        config["mlstack:environment"] = "dev"
        config["mlstack:accountId"] = PROD_ACCOUNT
        for key in ("mlstack:endpoints", "mlstack:monitors", "mlstack:featureGroups"):
            config.pop(key)
        config["mlstack:models"][0].pop("training")
        config["mlstack:models"][0]["source"] = "s3://partner-models/churn/"

    path = _write(tmp_path, "churn-dev", "Pulumi.churn-prod.yaml", change)
    assert cli("check", path)[0] == 0, "nothing bound: the declared environment stands"
    binding = tmp_path / "accounts.json"
    binding.write_text(json.dumps({ACCOUNTS: {"environmentAccounts": {"dev": [DEV_ACCOUNT], "staging": [], "prod": [PROD_ACCOUNT]}}}))
    code, out, _ = cli("check", path, "--config", str(binding))
    assert code == 1 and f"[mandatory] {ACCOUNTS}" in out and f"account {PROD_ACCOUNT}" in out and "binds to prod" in out


# -- graphs a Python stack could register -----------------------------------------------------------


def _definition(change: Callable[[dict], Any]) -> Callable[[Graph], Graph]:
    def apply(g: Graph) -> Graph:
        d = g.definition(TRAINING)
        change(d)
        return g.set_definition(TRAINING, d)

    return apply


def _gate_step(d: dict) -> dict:
    return next(s for s in d["Steps"] if s["Name"] == "CheckGates")


def _nested_trivial_gate(d: dict) -> None:
    """Registration moved into a second Condition nested in the first, whose only test is auc > -1."""
    gate = _gate_step(d)
    register = gate["Arguments"]["IfSteps"].pop()
    inner = {"Name": "Inner", "Type": "Condition", "Arguments": {"Conditions": [{"Type": "GreaterThan", "LeftValue": _metric("auc"), "RightValue": -1}], "IfSteps": [register], "ElseSteps": []}}
    gate["Arguments"]["IfSteps"].append(inner)


def _metric(name: str) -> dict:
    return {"Std:JsonGet": {"Path": f"metrics.{name}.value", "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"}}}


def _instance_groups(d: dict) -> None:
    """A heterogeneous cluster: GPUs hidden in InstanceGroups instead of InstanceType/InstanceCount."""
    train = next(s for s in d["Steps"] if s["Name"] == "Train")
    train["Arguments"]["ResourceConfig"] = {
        "InstanceGroups": [
            {"InstanceGroupName": "cpu", "InstanceType": "ml.m5.2xlarge", "InstanceCount": 1},
            {"InstanceGroupName": "gpu", "InstanceType": "ml.g5.48xlarge", "InstanceCount": 17},
        ],
        "VolumeSizeInGB": 50,
        "VolumeKmsKeyId": KEY_ARN,
    }


def _count_parameter(d: dict) -> None:
    """The instance count from a pipeline parameter whose default is large."""
    d["Parameters"] += [{"Name": "TrainCount", "Type": "Integer", "DefaultValue": 40}]
    d["Parameters"][0]["DefaultValue"] = "ml.g5.12xlarge"
    config = next(s for s in d["Steps"] if s["Name"] == "Train")["Arguments"]["ResourceConfig"]
    config["InstanceCount"] = {"Get": "Parameters.TrainCount"}
    config.pop("VolumeKmsKeyId")


def _rate_times_100(g: Graph) -> Graph:
    queries = g.get("monitor-errors-5xx").inputs["metricQueries"]
    queries[2]["expression"] = "FILL(errors, 0) / invocations * 100"
    return g.set("monitor-errors-5xx", "threshold", 100)


def _provider(g: Graph) -> Graph:
    g.add("pulumi:providers:aws", "prod-account", {"region": "eu-west-1", "allowedAccountIds": [PROD_ACCOUNT]})
    return g


def _known_arn(g: Graph) -> Graph:
    """On an update, outputs of deployed resources are known: the topic's ARN names its account."""
    return g.set("monitor-topic", "arn", f"arn:aws:sns:eu-west-1:{PROD_ACCOUNT}:monitor-topic")


def _placeholder_accounts(g: Graph) -> Graph:
    for record in g.records:
        text = json.dumps(record.inputs).replace(ACCOUNT, "123456789012")
        record.inputs.clear()
        record.inputs.update(json.loads(text))
    return g


def _bound(g: Graph) -> dict[str, Any]:
    return {ACCOUNTS: {"environmentAccounts": {"dev": [DEV_ACCOUNT], "staging": [], "prod": [PROD_ACCOUNT]}}}


# (id, environment, change, config (graph -> pack config) or None, stack config changes, policies that must fail)
HOSTILE: list[tuple[str, str, Callable[[Graph], Graph], Callable[[Graph], dict] | None, dict[str, str], set[str]]] = [
    # bake and rollback alarms
    ("bake-as-a-string", "prod", lambda g: g.set("scoring-endpoint", f"{ROUTING}.waitIntervalInSeconds", "0"), None, {}, {ROLLOUT}),
    ("rolling-update-without-bake", "prod", lambda g: g.set("scoring-endpoint", "deploymentConfig", {"rollingUpdatePolicy": {"maximumBatchSize": {"type": "CAPACITY_PERCENT", "value": 25}, "waitIntervalInSeconds": 0}, "autoRollbackConfiguration": {"alarms": [{"alarmName": "churn-scoring-5xx-error-rate"}]}}), None, {}, {ROLLOUT}),
    ("error-rate-just-above-one-with-ge", "prod", lambda g: g.set("scoring-errors", "statistic", "Average").set("scoring-errors", "threshold", 1.0000001).set("scoring-errors", "comparisonOperator", "GreaterThanOrEqualToThreshold"), None, {}, {ROLLOUT}),
    ("threshold-as-a-string", "prod", lambda g: g.set("scoring-errors", "statistic", "Average").set("scoring-errors", "threshold", "1"), None, {}, {ROLLOUT}),
    ("latency-as-a-percentile-above-timeout", "staging", lambda g: g.set("scoring-latency", "extendedStatistic", "p50").set("scoring-latency", "threshold", 3_600_000_000), None, {}, {ROLLOUT}),
    ("one-good-alarm-hides-a-dead-one", "prod", lambda g: g.set("scoring-latency", "extendedStatistic", "p99").set("scoring-latency", "threshold", 90e6), None, {}, {ROLLOUT}),
    ("rollback-alarm-needs-an-hour", "prod", lambda g: g.set("scoring-errors", "period", 3600).set("scoring-errors", "evaluationPeriods", 1), None, {}, {ROLLOUT}),
    # monitor alarms
    ("rate-written-times-100-at-the-end", "dev", _rate_times_100, None, {}, {MONITORING}),
    ("drift-psi-as-a-string", "staging", lambda g: g.set("monitor-drift-tenure", "metricName", "PopulationStabilityIndex").set("monitor-drift-tenure", "threshold", "1e3"), None, {}, {MONITORING}),
    # gates
    ("trivial-gate-nested-in-a-branch", "prod", _definition(_nested_trivial_gate), None, {}, {GATES}),
    ("registry-approval-mode-upper-case", "prod", lambda g: g.set("churn-xgb-group", "tags.mlstack:approval-mode", "AUTOMATIC"), None, {}, {GATES}),
    # training GPUs and KServe nodes
    ("gpus-in-instance-groups", "prod", _definition(_instance_groups), None, {}, {INSTANCES, BUDGET}),
    ("gpu-count-from-a-parameter", "prod", _definition(_count_parameter), None, {}, {INSTANCES, BUDGET}),
    ("kserve-node-type-upper-case", "dev", lambda g: g.set("defects-isvc", "spec.predictor.nodeSelector", {"node.kubernetes.io/instance-type": "P5.48XLARGE"}), None, {}, {INSTANCES}),
    ("kserve-node-type-beta-label", "dev", lambda g: g.set("defects-isvc", "spec.predictor.nodeSelector", {"beta.kubernetes.io/instance-type": "p5.48xlarge"}), None, {}, {INSTANCES}),
    # approval recorded at deploy time
    ("approval-status-with-a-space", "prod", lambda g: g.set("scoring-model", "tags.mlstack:approval-status", "Approved "), None, {}, {APPROVED}),
    ("approval-status-empty", "prod", lambda g: g.set("scoring-model", "tags.mlstack:approval-status", ""), None, {}, {APPROVED}),
    # environments bound to accounts
    ("dev-declared-behind-a-prod-only-provider", "dev", lambda g: _provider(_placeholder_accounts(g)), _bound, {}, {ACCOUNTS}),
    ("dev-declared-with-a-deployed-prod-resource", "dev", lambda g: _known_arn(_placeholder_accounts(g)), _bound, {}, {ACCOUNTS}),
    ("dev-account-declared-but-roles-in-prod", "dev", lambda g: g, _bound, {"mlstack:accountId": DEV_ACCOUNT}, {ACCOUNTS}),
    ("account-hidden-behind-the-placeholder", "prod", _placeholder_accounts, _bound, {}, {ACCOUNTS}),
]


@pytest.mark.parametrize("case, env, change, config, extra, expected", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_graph_is_still_caught(case, env, change, config, extra, expected):
    g = change(baseline(env))
    report = g.check(config(g) if config else None, stack_config={**g.stack_config(), **extra})
    assert found(report) == expected, texts(report)
    assert not report.passed


@pytest.mark.parametrize("case, env, change, expected", HOSTILE_IAM, ids=[c[0] for c in HOSTILE_IAM])
def test_a_hostile_iam_document_is_still_caught(case, env, change, expected):
    report = change(iam_baseline(env)).check()
    assert found(report) == expected, texts(report)
