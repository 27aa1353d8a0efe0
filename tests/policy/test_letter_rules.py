"""Rules that must hold in spirit, not only in letter: each case changes one field of the
compliant baseline (graphs.py) so that a rule is kept on paper but does nothing — a 0 s bake, an
alarm that can never fire, a drift threshold no data reaches, a gate every model passes,
automatic approval in prod, uncapped training GPUs, a KServe node outside the limits, no network
isolation — and names the policies that must then fail, and only those. The edge cases next to
each (a threshold just inside the range) must pass.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable

import pytest

from mlstack.policy.kit.alarms import ASYNC_TIMEOUT_SECONDS, KL_MAX, PSI_MAX, REALTIME_TIMEOUT_SECONDS

from .graphs import ACCOUNT, DIGEST, ECR, ENDPOINT_NAME, KEY_ARN, VPC_JOB, Graph, baseline, tags

VPC = "mlstack-sagemaker-runs-in-vpc"
ROLLOUT = "mlstack-endpoint-requires-progressive-rollout"
MONITORING = "mlstack-endpoint-requires-monitoring"
INSTANCES = "mlstack-instance-types-within-limits"
APPROVED = "mlstack-endpoint-serves-approved-package"
GATES = "mlstack-pipeline-gates-registration"
ACCOUNTS = "mlstack-stack-environment-matches-account"

TRAINING = "churn-xgb-training-pipeline"
ROUTING = "deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration"
DIMS = {"EndpointName": ENDPOINT_NAME, "VariantName": "AllTraffic"}


def violated(report) -> set[str]:
    return {v.policy for v in report.violations}


def messages(report) -> list[str]:
    return [f"{v.policy}: {v.message}" for v in report.violations]


def _step(definition: dict, name: str) -> dict:
    for step, _ in _all_steps(definition):
        if step["Name"] == name:
            return step
    raise KeyError(name)


def _all_steps(definition: dict):
    def walk(items):
        for step in items:
            yield step, None
            if step.get("Type") == "Condition":
                yield from walk(step["Arguments"].get("IfSteps", []))
                yield from walk(step["Arguments"].get("ElseSteps", []))

    yield from walk(definition["Steps"])


def definition(change: Callable[[dict], Any]) -> Callable[[Graph], Graph]:
    def apply(g: Graph) -> Graph:
        d = g.definition(TRAINING)
        change(d)
        return g.set_definition(TRAINING, d)

    return apply


def conditions(d: dict) -> list:
    return _step(d, "CheckGates")["Arguments"]["Conditions"]


def json_get(metric: str) -> dict:
    return {"Std:JsonGet": {"Path": f"metrics.{metric}.value", "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"}}}


def baseline_step(tolerance: float, metric: str = "accuracy") -> Callable[[dict], None]:
    """The LastApprovedMetrics step the TrainingPipeline adds for last-approved gates."""

    def change(d: dict) -> None:
        gates = json.dumps([{"index": 0, "metric": metric, "op": ">=", "tolerance": tolerance}])
        d["Steps"].insert(0, {"Name": "LastApprovedMetrics", "Type": "Lambda", "FunctionArn": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:f",
                              "Arguments": {"model_package_group": "churn-churn-xgb", "gates": gates}, "OutputParameters": []})  # fmt: skip

    return change


def train(instance_type: str, count: int) -> Callable[[dict], None]:
    def change(d: dict) -> None:
        d["Parameters"][0]["DefaultValue"] = instance_type
        config = _step(d, "Train")["Arguments"]["ResourceConfig"]
        config["InstanceCount"] = count
        config.pop("VolumeKmsKeyId", None)  # the GPU types used here keep volumes on local NVMe

    return change


def tuning(parallel: int, count: int) -> Callable[[dict], None]:
    def change(d: dict) -> None:
        d["Steps"].append(
            {
                "Name": "Tune",
                "Type": "Tuning",
                "Arguments": {
                    "HyperParameterTuningJobConfig": {"Strategy": "Bayesian", "ResourceLimits": {"MaxNumberOfTrainingJobs": 50, "MaxParallelTrainingJobs": parallel}},
                    "TrainingJobDefinition": {
                        "AlgorithmSpecification": {"TrainingImage": f"{ECR}/churn-xgb-train{DIGEST}", "TrainingInputMode": "File"},
                        "ResourceConfig": {"InstanceCount": count, "InstanceType": "ml.g5.12xlarge", "VolumeSizeInGB": 50},
                        "OutputDataConfig": {"S3OutputPath": "s3://churn-artifacts/tuning", "KmsKeyId": KEY_ARN},
                        "VpcConfig": dict(VPC_JOB),
                        "EnableNetworkIsolation": True,
                        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/churn-training",
                    },
                },
            }
        )

    return change


def monitor_alarm(name: str, **inputs: Any) -> Callable[[Graph], Graph]:
    def change(g: Graph) -> Graph:
        g.add("aws:cloudwatch/metricAlarm:MetricAlarm", name, {"name": f"churn-{g.env}-scoring-{name}", "tags": tags(g.env, model="churn-xgb"), **inputs}, parent="monitor")
        return g

    return change


def kserve_node(node_type: str, *, affinity: bool = False) -> Callable[[Graph], Graph]:
    def change(g: Graph) -> Graph:
        predictor = g.get("defects-isvc").inputs["spec"]["predictor"]
        if affinity:
            term = {"matchExpressions": [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["g5.xlarge", node_type]}]}
            predictor["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}
        else:
            predictor["nodeSelector"] = {"node.kubernetes.io/instance-type": node_type, "workload": "inference"}
        return g

    return change


def features_drifted(threshold: float, op: str = "GreaterThanOrEqualToThreshold") -> Callable[[Graph], Graph]:
    return monitor_alarm(
        "features-drifted", namespace="mlstack/Drift", metricName="FeaturesDrifted", dimensions={"EndpointName": ENDPOINT_NAME},
        statistic="Maximum", period=3600, evaluationPeriods=1, threshold=threshold, comparisonOperator=op, treatMissingData="notBreaching",
    )  # fmt: skip


def drift_args(features: str) -> Callable[[Graph], Graph]:
    """The drift job's arguments, as the Monitor writes them into its pipeline."""

    def change(g: Graph) -> Graph:
        d = g.definition("monitor-drift-pipeline")
        d["Steps"][0]["Arguments"]["AppSpecification"]["ContainerArguments"] = ["--endpoint-name", ENDPOINT_NAME, "--features", features]
        return g.set_definition("monitor-drift-pipeline", d)

    return change


def both(*changes: Callable[[Graph], Graph]) -> Callable[[Graph], Graph]:
    def apply(g: Graph) -> Graph:
        for change in changes:
            g = change(g)
        return g

    return apply


LATENCY_CEILING_US = REALTIME_TIMEOUT_SECONDS * 1e6

# (id, environment, change, policies that must fail)
CASES: list[tuple[str, str, Callable[[Graph], Graph], set[str]]] = [
    # a rollout that does not bake
    ("bake-zero-in-prod", "prod", lambda g: g.set("scoring-endpoint", f"{ROUTING}.waitIntervalInSeconds", 0), {ROLLOUT}),
    ("bake-unset-in-prod", "prod", lambda g: g.drop("scoring-endpoint", f"{ROUTING}.waitIntervalInSeconds"), {ROLLOUT}),
    ("bake-below-minimum-in-staging", "staging", lambda g: g.set("scoring-endpoint", f"{ROUTING}.waitIntervalInSeconds", 119), {ROLLOUT}),
    # rollback alarms that can never fire
    ("rollback-error-rate-at-100-percent", "prod", lambda g: g.set("scoring-errors", "statistic", "Average").set("scoring-errors", "threshold", 1), {ROLLOUT}),
    ("rollback-latency-above-invocation-timeout", "prod", lambda g: g.set("scoring-latency", "extendedStatistic", "p99").set("scoring-latency", "threshold", LATENCY_CEILING_US), {ROLLOUT}),
    ("rollback-alarm-slower-than-bake", "prod", lambda g: g.set("scoring-errors", "period", 600).set("scoring-errors", "datapointsToAlarm", 2), {ROLLOUT}),
    # monitor alarms that can never fire
    ("monitor-error-rate-at-100-percent", "dev", lambda g: g.set("monitor-errors-5xx", "threshold", 100), {MONITORING}),
    ("monitor-error-rate-ge-above-100", "dev", lambda g: g.set("monitor-errors-5xx", "threshold", 100.5).set("monitor-errors-5xx", "comparisonOperator", "GreaterThanOrEqualToThreshold"), {MONITORING}),
    ("monitor-latency-above-timeout", "staging", monitor_alarm("latency-p99", namespace="AWS/SageMaker", metricName="ModelLatency", dimensions=DIMS, extendedStatistic="p99", period=60, evaluationPeriods=3, threshold=LATENCY_CEILING_US + 1, comparisonOperator="GreaterThanThreshold"), {MONITORING}),
    ("no-invocations-missing-data-not-breaching", "dev", monitor_alarm("no-invocations", namespace="AWS/SageMaker", metricName="Invocations", dimensions=DIMS, statistic="Sum", period=300, evaluationPeriods=6, threshold=1, comparisonOperator="LessThanThreshold", treatMissingData="notBreaching"), {MONITORING}),
    ("no-invocations-missing-data-default", "dev", monitor_alarm("no-invocations", namespace="AWS/SageMaker", metricName="Invocations", dimensions=DIMS, statistic="Sum", period=300, evaluationPeriods=6, threshold=1, comparisonOperator="LessThanThreshold"), {MONITORING}),
    ("invocations-below-zero", "dev", monitor_alarm("no-invocations", namespace="AWS/SageMaker", metricName="Invocations", dimensions=DIMS, statistic="Sum", period=300, evaluationPeriods=6, threshold=0, comparisonOperator="LessThanThreshold", treatMissingData="breaching"), {MONITORING}),
    # drift thresholds no data can cross
    ("psi-threshold-above-reach", "prod", lambda g: g.set("monitor-drift-tenure", "metricName", "PopulationStabilityIndex").set("monitor-drift-tenure", "threshold", 30), {MONITORING}),
    ("kl-threshold-above-reach", "prod", lambda g: g.set("monitor-drift-tenure", "metricName", "KLDivergence").set("monitor-drift-tenure", "threshold", 14), {MONITORING}),
    ("features-drifted-above-feature-count", "prod", both(drift_args("tenure_months,contract"), features_drifted(3)), {MONITORING}),
    ("features-drifted-gt-feature-count", "prod", both(drift_args("tenure_months,contract"), features_drifted(2, "GreaterThanThreshold")), {MONITORING}),
    # gates every candidate passes
    ("gate-auc-at-zero", "dev", definition(lambda d: conditions(d)[1].update(RightValue=0)), {GATES}),
    ("gate-accuracy-at-most-one", "prod", definition(lambda d: conditions(d).append({"Type": "LessThanOrEqualTo", "LeftValue": json_get("accuracy"), "RightValue": 1})), {GATES}),
    ("gate-operands-reversed", "prod", definition(lambda d: conditions(d).append({"Type": "LessThanOrEqualTo", "LeftValue": -0.5, "RightValue": json_get("auc")})), {GATES}),
    ("gate-threshold-from-parameter", "prod", definition(lambda d: (d["Parameters"].append({"Name": "AucMin", "Type": "Float", "DefaultValue": 0.0}), conditions(d)[1].update(RightValue={"Get": "Parameters.AucMin"}))), {GATES}),
    ("tolerance-whole-range", "dev", definition(baseline_step(1.0)), {GATES}),
    ("tolerance-above-prod-share", "prod", definition(baseline_step(0.06)), {GATES}),
    # automatic approval where a person must approve
    ("pipeline-registers-approved-in-prod", "prod", definition(lambda d: _step(d, "Register")["Arguments"].update(ModelApprovalStatus="Approved")), {GATES}),
    ("approval-status-from-parameter-in-prod", "prod", definition(lambda d: (d["Parameters"].append({"Name": "ModelApprovalStatus", "Type": "String", "DefaultValue": "Approved"}), _step(d, "Register")["Arguments"].update(ModelApprovalStatus={"Get": "Parameters.ModelApprovalStatus"}))), {GATES}),
    ("registry-automatic-in-prod", "prod", lambda g: g.set("churn-xgb-group", "tags.mlstack:approval-mode", "automatic"), {GATES}),
    # uncapped training GPUs
    ("training-gpus-above-prod-cap", "prod", definition(train("ml.g5.12xlarge", 33)), {INSTANCES}),
    ("training-gpus-above-dev-cap", "dev", definition(train("ml.g5.12xlarge", 3)), {INSTANCES}),
    ("tuning-parallel-jobs-above-cap", "prod", definition(tuning(parallel=9, count=4)), {INSTANCES}),
    # KServe nodes outside the instance limits
    ("kserve-node-type-denied-in-dev", "dev", kserve_node("p5.48xlarge"), {INSTANCES}),
    ("kserve-node-affinity-denied-in-dev", "dev", kserve_node("p4d.24xlarge", affinity=True), {INSTANCES}),
    ("kserve-node-type-unknown-accelerated", "prod", kserve_node("g9.xlarge"), {INSTANCES}),
    ("kserve-node-type-not-allowed", "prod", kserve_node("m5.large"), set()),  # allowed by the default ml.* patterns
    # network isolation
    ("model-not-isolated-in-prod", "prod", lambda g: g.set("scoring-model", "enableNetworkIsolation", False), {VPC}),
    ("model-isolation-unset-in-prod", "prod", lambda g: g.drop("scoring-model", "enableNetworkIsolation"), {VPC}),
    ("training-not-isolated-in-prod", "prod", definition(lambda d: _step(d, "Train")["Arguments"].update(EnableNetworkIsolation=False)), {VPC}),
    # approval verified at deploy time
    ("served-version-pending-in-prod", "prod", lambda g: g.set("scoring-model", "tags.mlstack:approval-status", "PendingManualApproval"), {APPROVED}),
    ("served-version-status-unrecorded-in-prod", "prod", lambda g: g.drop("scoring-model", "tags.mlstack:approval-status"), {APPROVED}),
    ("kserve-version-rejected-in-prod", "prod", lambda g: g.set("defects-isvc", ("metadata", "labels", "mlstack.dev/approval-status"), "Rejected"), {APPROVED}),
    # KServe rollout rules reach staging
    ("kserve-without-canary-in-staging", "staging", lambda g: g.drop("defects-isvc", "spec.predictor.canaryTrafficPercent"), {ROLLOUT}),
]

# The same change where the rule does not apply by default.
NOT_IN = [
    ("bake-zero-in-prod", "dev"),
    ("tolerance-above-prod-share", "dev"),
    ("pipeline-registers-approved-in-prod", "staging"),
    ("registry-automatic-in-prod", "dev"),
    ("kserve-node-type-denied-in-dev", "staging"),
    ("model-not-isolated-in-prod", "staging"),
    ("served-version-pending-in-prod", "staging"),
    ("kserve-without-canary-in-staging", "dev"),
]

# Just inside the range: must pass.
EDGES: list[tuple[str, str, Callable[[Graph], Graph]]] = [
    ("bake-at-prod-minimum", "prod", lambda g: g.set("scoring-endpoint", f"{ROUTING}.waitIntervalInSeconds", 300)),
    ("rollback-error-rate-below-100-percent", "prod", lambda g: g.set("scoring-errors", "statistic", "Average").set("scoring-errors", "threshold", 0.99)),
    ("rollback-latency-below-timeout", "prod", lambda g: g.set("scoring-latency", "extendedStatistic", "p99").set("scoring-latency", "threshold", LATENCY_CEILING_US - 1)),
    ("async-latency-above-realtime-timeout", "prod", lambda g: g.set("scoring-config", "asyncInferenceConfig", {"outputConfig": {"s3OutputPath": "s3://x/out", "kmsKeyId": KEY_ARN}}).set("scoring-latency", "extendedStatistic", "p99").set("scoring-latency", "threshold", 600e6)),
    ("rollback-window-equals-bake", "prod", lambda g: g.set("scoring-errors", "period", 300).set("scoring-errors", "datapointsToAlarm", 3)),
    ("psi-threshold-within-reach", "prod", lambda g: g.set("monitor-drift-tenure", "metricName", "PopulationStabilityIndex").set("monitor-drift-tenure", "threshold", 27)),
    ("features-drifted-at-feature-count", "prod", both(drift_args("tenure_months,contract"), features_drifted(2))),
    ("features-drifted-unknown-count", "prod", features_drifted(7)),
    ("gate-accuracy-just-above-zero", "prod", definition(lambda d: conditions(d)[0].update(RightValue=0.01))),
    ("gate-on-unbounded-metric", "prod", definition(lambda d: conditions(d).append({"Type": "GreaterThanOrEqualTo", "LeftValue": json_get("bias_delta"), "RightValue": -1}))),
    ("tolerance-at-prod-share", "prod", definition(baseline_step(0.05))),
    ("training-gpus-at-prod-cap", "prod", definition(train("ml.g5.12xlarge", 32))),
    ("no-invocations-missing-data-breaching", "dev", monitor_alarm("no-invocations", namespace="AWS/SageMaker", metricName="Invocations", dimensions=DIMS, statistic="Sum", period=300, evaluationPeriods=6, threshold=1, comparisonOperator="LessThanThreshold", treatMissingData="breaching")),
]


@pytest.mark.parametrize("case, env, change, expected", CASES, ids=[c[0] for c in CASES])
def test_a_rule_kept_only_in_letter_fails_the_policy_that_owns_it(case, env, change, expected):
    report = change(baseline(env)).check()
    assert violated(report) == expected, messages(report)
    for violation in report.violations:
        assert "must" in violation.message, "a message says what should be true"
        assert violation.urn and violation.urn.startswith(f"urn:pulumi:churn-{env}::")


@pytest.mark.parametrize("case, env", NOT_IN, ids=[f"{c}-in-{e}" for c, e in NOT_IN])
def test_environment_scoped_minimums_leave_other_environments_alone(case, env):
    change = next(c[2] for c in CASES if c[0] == case)
    report = change(baseline(env)).check()
    assert report.violations == [], messages(report)


@pytest.mark.parametrize("case, env, change", EDGES, ids=[c[0] for c in EDGES])
def test_a_threshold_just_inside_the_range_passes(case, env, change):
    report = change(baseline(env)).check()
    assert report.violations == [], messages(report)


# -- messages and settings ------------------------------------------------------------------------


def test_the_bake_message_names_the_minimum_and_the_setting():
    report = baseline("prod").set("scoring-endpoint", f"{ROUTING}.waitIntervalInSeconds", 0).check()
    (violation,) = report.violations
    assert "at least 300 s in prod" in violation.message and "waits 0 s" in violation.message
    assert "minWaitIntervalSeconds.prod" in violation.message


def test_the_minimum_bake_is_set_per_environment():
    g = baseline("prod").set("scoring-endpoint", f"{ROUTING}.waitIntervalInSeconds", 200)  # the alarms need 180 s
    assert violated(g.check()) == {ROLLOUT}
    assert g.check({ROLLOUT: {"minWaitIntervalSeconds": {"dev": 0, "staging": 0, "prod": 200}}}).violations == []
    stricter = g.set("scoring-endpoint", f"{ROUTING}.waitIntervalInSeconds", 900)
    assert violated(stricter.check({ROLLOUT: {"minWaitIntervalSeconds": {"dev": 0, "staging": 0, "prod": 1200}}})) == {ROLLOUT}


def test_a_rollback_alarm_that_cannot_fire_is_named_with_the_reason():
    g = baseline("prod").set("scoring-errors", "statistic", "Average").set("scoring-errors", "threshold", 1)
    (violation,) = g.check().violations
    assert violation.urn.endswith("::scoring-errors")
    assert "'churn-scoring-5xx-error-rate'" in violation.message and "can never be" in violation.message


def test_autonamed_rollback_alarms_are_judged_through_dependencies():
    g = baseline("prod").drop("scoring-errors", "name").drop("scoring-latency", "name")
    g.set("scoring-endpoint", "deploymentConfig.autoRollbackConfiguration.alarms", [{"alarmName": "scoring-errors-9f86d08"}])
    assert g.check().violations == []
    g.set("scoring-latency", "extendedStatistic", "p99").set("scoring-latency", "threshold", 1e9)
    assert violated(g.check()) == {ROLLOUT}


def test_metric_ranges_and_tolerances_are_settings():
    g = definition(lambda d: conditions(d).append({"Type": "GreaterThanOrEqualTo", "LeftValue": json_get("bias_delta"), "RightValue": -1}))(baseline("prod"))
    assert g.check().violations == []
    ranges = {"bias_delta": {"minimum": -1, "maximum": 1}, "auc": {"minimum": 0, "maximum": 1}}
    report = g.check({GATES: {"metricRanges": ranges}})
    assert violated(report) == {GATES} and "bias_delta >= -1" in report.violations[0].message
    loose = definition(baseline_step(0.06))(baseline("prod"))
    assert loose.check({GATES: {"maxGateTolerance": {"dev": 1, "staging": 0.1, "prod": 0.1}}}).violations == []


def test_gates_declared_in_the_stack_config_are_judged_too():
    g = baseline("dev")
    gates = [{"metric": "auc", "op": ">=", "threshold": 0}, {"metric": "accuracy", "op": ">=", "threshold": "last-approved", "tolerance": 2}]
    config = {**g.stack_config(), "mlstack:models": json.dumps([{"name": "churn-xgb", "gates": gates}])}
    report = g.check(stack_config=config)
    assert violated(report) == {GATES}
    assert {("auc >= 0" in m, "tolerance of 2" in m) for m in messages(report)} >= {(True, False), (False, True)}


def test_manual_approval_environments_are_a_setting():
    g = baseline("staging").set("churn-xgb-group", "tags.mlstack:approval-mode", "automatic")
    assert g.check().violations == []
    assert violated(g.check({GATES: {"manualApprovalEnvironments": ["staging", "prod"]}})) == {GATES}


def test_network_isolation_environments_are_a_setting():
    g = baseline("staging").set("scoring-model", "enableNetworkIsolation", False)
    assert g.check().violations == []
    assert violated(g.check({VPC: {"networkIsolationEnvironments": ["staging", "prod"]}})) == {VPC}


def test_training_gpu_cap_is_set_per_environment():
    g = definition(train("ml.g5.12xlarge", 3))(baseline("dev"))
    report = g.check()
    assert "at most 8 GPUs in dev, but can use 12" in report.violations[0].message
    assert g.check({INSTANCES: {"maxGpusPerTrainingJob": {"dev": 12, "staging": 32, "prod": 128}}}).violations == []


# -- the drift bounds are the drift job's ---------------------------------------------------------


def test_drift_bounds_are_what_the_drift_job_can_publish():
    import numpy as np

    from mlstack.drift import stats

    assert stats.EPSILON == pytest.approx(1e-6)
    from mlstack.policy.kit import alarms as _alarms

    assert _alarms.EPSILON == stats.EPSILON
    # The extreme: all production data in one bucket, all baseline data in another.
    for k in (2, 3, 12, 102):
        actual, expected = np.zeros(k), np.zeros(k)
        actual[0], expected[-1] = 1000, 1000
        assert stats.psi(actual, expected) <= PSI_MAX
        assert stats.kl_divergence(actual, expected) <= KL_MAX
    actual, expected = np.array([1000.0, 0.0]), np.array([0.0, 1000.0])
    assert stats.psi(actual, expected) == pytest.approx(PSI_MAX, rel=1e-9)
    assert stats.kl_divergence(actual, expected) == pytest.approx(KL_MAX, rel=1e-9)
    assert math.isclose(PSI_MAX, 2 * KL_MAX) and 27 < PSI_MAX < 28


def test_invocation_timeouts_are_botocores():
    import re

    import botocore.session

    runtime = botocore.session.get_session().get_service_model("sagemaker-runtime")
    realtime = runtime.operation_model("InvokeEndpoint").documentation
    assert f"within {REALTIME_TIMEOUT_SECONDS} seconds" in re.sub(r"<[^>]+>", "", realtime)
    timeout = runtime.operation_model("InvokeEndpointAsync").input_shape.members["InvocationTimeoutSeconds"]
    assert timeout.metadata["max"] == ASYNC_TIMEOUT_SECONDS


# -- environments bound to accounts ----------------------------------------------------------------

OTHER = "111122223333"


def bind(**accounts: list[str]) -> dict[str, Any]:
    return {ACCOUNTS: {"environmentAccounts": {"dev": [], "staging": [], "prod": [], **accounts}}}


def test_nothing_bound_nothing_judged():
    assert baseline("dev").check().violations == []


def test_a_stack_in_a_prod_account_that_declares_dev_fails():
    report = baseline("dev").check(bind(prod=[ACCOUNT], dev=[OTHER]))
    assert violated(report) == {ACCOUNTS}
    (violation,) = report.violations
    assert f"account {ACCOUNT}" in violation.message and "binds to prod" in violation.message and "'dev'" in violation.message
    assert baseline("prod").check(bind(prod=[ACCOUNT], dev=[OTHER])).violations == []


def test_a_prod_stack_in_an_account_not_bound_to_prod_fails():
    report = baseline("prod").check(bind(prod=[OTHER]))
    assert violated(report) == {ACCOUNTS} and "not among the accounts" in report.violations[0].message


def test_an_account_bound_to_no_environment_passes_where_the_declared_one_is_unbound():
    assert baseline("staging").check(bind(prod=[OTHER])).violations == []


def test_the_declared_account_and_allowed_accounts_count():
    g = baseline("dev")
    config = {**g.stack_config(), "aws:allowedAccountIds": json.dumps([OTHER])}
    assert violated(g.check(bind(prod=[OTHER], dev=[ACCOUNT]), stack_config=config)) == {ACCOUNTS}
    config = {**g.stack_config(), "mlstack:accountId": OTHER}
    assert violated(g.check(bind(prod=[OTHER], dev=[ACCOUNT]), stack_config=config)) == {ACCOUNTS}


def _without_accounts(g: Graph) -> Graph:
    """``g`` with every ARN naming the offline engine's placeholder account."""
    for record in g.records:
        text = json.dumps(record.inputs).replace(ACCOUNT, "123456789012")
        record.inputs.clear()
        record.inputs.update(json.loads(text))
    return g


def test_an_unknown_account_fails_closed_when_accounts_are_bound():
    g = _without_accounts(baseline("dev"))
    assert g.check().violations == []
    report = g.check(bind(prod=[ACCOUNT]))
    assert violated(report) == {ACCOUNTS} and "nothing says which AWS account" in report.violations[0].message
    config = {**g.stack_config(), "mlstack:accountId": OTHER}
    assert g.check(bind(prod=[ACCOUNT]), stack_config=config).violations == []


def test_the_placeholder_counts_when_the_stack_declares_it():
    g = _without_accounts(baseline("dev"))
    config = {**g.stack_config(), "mlstack:accountId": "123456789012"}
    assert violated(g.check(bind(prod=["123456789012"]), stack_config=config)) == {ACCOUNTS}


def test_environment_accounts_are_validated_as_account_ids():
    from mlstack.errors import ConfigError

    with pytest.raises(ConfigError, match="environmentAccounts"):
        baseline("dev").check(bind(prod=["2109876543"]))
