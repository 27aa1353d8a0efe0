"""What the per-policy tests (tests/policy/rules/) share: the policies' names, the one-field
changes of the compliant baselines (graphs.py) the cases are made of, and what a case expects.

A case is ``(id, environment, change, policies that must fail)``: the change is applied to a fresh
baseline of that environment, and exactly those policies — no fewer, no more — must then report,
each violation on a resource of the stack and saying what should be true ("must").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from mlstack.policy.check import Report
from mlstack.policy.kit.alarms import REALTIME_TIMEOUT_SECONDS
from mlstack.policy.rules import (
    audit_log_object_locked,
    endpoint_requires_monitoring,
    endpoint_requires_progressive_rollout,
    endpoint_serves_approved_package,
    iam_no_wildcard_grants,
    iam_trust_policy_restricted,
    image_pinned_by_digest,
    instance_types_within_limits,
    kms_key_restricted_and_rotated,
    model_lineage_complete,
    notebook_locked_down,
    pipeline_gates_registration,
    resource_has_lineage_tags,
    resource_policy_not_public,
    s3_bucket_blocks_public_access,
    sagemaker_runs_in_vpc,
    service_principal_has_source_condition,
    stack_environment_matches_account,
    stack_within_budget,
    storage_encrypted_with_kms,
    transforms_evaluated,
)

from .graphs import ACCOUNT, DIGEST, ECR, ENDPOINT_NAME, KEY_ARN, VPC_JOB, Graph, policy_json, set_statements, statements_of, tags

ACCOUNTS = stack_environment_matches_account.NAME
LINEAGE = resource_has_lineage_tags.NAME
KMS = storage_encrypted_with_kms.NAME
S3_PUBLIC = s3_bucket_blocks_public_access.NAME
VPC = sagemaker_runs_in_vpc.NAME
ROLLOUT = endpoint_requires_progressive_rollout.NAME
MONITORING = endpoint_requires_monitoring.NAME
INSTANCES = instance_types_within_limits.NAME
BUDGET = stack_within_budget.NAME
APPROVED = endpoint_serves_approved_package.NAME
GATES = pipeline_gates_registration.NAME
DIGEST_POLICY = image_pinned_by_digest.NAME
LINEAGE_COMPLETE = model_lineage_complete.NAME
WILDCARD = iam_no_wildcard_grants.NAME
TRUST = iam_trust_policy_restricted.NAME
KMS_POLICY = kms_key_restricted_and_rotated.NAME
RESOURCE = resource_policy_not_public.NAME
DEPUTY = service_principal_has_source_condition.NAME
NOTEBOOK = notebook_locked_down.NAME
TRANSFORMS = transforms_evaluated.NAME
AUDIT = audit_log_object_locked.NAME

Change = Callable[[Graph], Graph]
Case = tuple[str, str, Change, set[str]]

TRAINING = "churn-xgb-training-pipeline"
ROUTING = "deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration"
DIMS = {"EndpointName": ENDPOINT_NAME, "VariantName": "AllTraffic"}
SAGEMAKER = {"Service": "sagemaker.amazonaws.com"}
OIDC = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
#: An account the baselines do not use.
OTHER = "111122223333"
#: The longest a real-time endpoint's ModelLatency can be, in microseconds.
LATENCY_CEILING_US = REALTIME_TIMEOUT_SECONDS * 1e6


# --- what a case expects ---------------------------------------------------------------------------


def violated(report: Report) -> set[str]:
    return {v.policy for v in report.violations}


def messages(report: Report) -> list[str]:
    return [f"{v.policy}: {v.message}" for v in report.violations]


def assert_fails_exactly(graph: Graph, expected: set[str]) -> None:
    """``graph`` fails exactly the ``expected`` policies, each violation on a resource of its
    stack and saying what should be true."""
    report = graph.check()
    assert violated(report) == expected, messages(report)
    for violation in report.violations:
        assert violation.urn and violation.urn.startswith(f"urn:pulumi:churn-{graph.env}::"), violation
        assert "must" in violation.message, "a message says what should be true"


def assert_passes(graph: Graph) -> None:
    report = graph.check()
    assert report.violations == [], messages(report)


def change_of(cases: list[Case], case_id: str) -> Change:
    """The change of the case ``case_id``."""
    return next(c[2] for c in cases if c[0] == case_id)


def both(*changes: Change) -> Change:
    def apply(g: Graph) -> Graph:
        for change in changes:
            g = change(g)
        return g

    return apply


# --- the training pipeline's definition --------------------------------------------------------------


def steps(definition: dict) -> Iterator[dict]:
    """Every step of a pipeline definition, those inside Condition branches too."""

    def walk(items: list) -> Iterator[dict]:
        for item in items:
            yield item
            if item.get("Type") == "Condition":
                yield from walk(item["Arguments"].get("IfSteps", []))
                yield from walk(item["Arguments"].get("ElseSteps", []))

    yield from walk(definition["Steps"])


def step(definition: dict, name: str) -> dict:
    for item in steps(definition):
        if item["Name"] == name:
            return item
    raise KeyError(name)


def definition(change: Callable[[dict], Any]) -> Change:
    """A change of the training pipeline's definition."""

    def apply(g: Graph) -> Graph:
        d = g.definition(TRAINING)
        change(d)
        return g.set_definition(TRAINING, d)

    return apply


def conditions(d: dict) -> list:
    return step(d, "CheckGates")["Arguments"]["Conditions"]


def ungate(d: dict) -> None:
    gate = step(d, "CheckGates")
    d["Steps"].remove(gate)
    d["Steps"].extend(gate["Arguments"]["IfSteps"])


def drop_auc_condition(d: dict) -> None:
    conditions(d).pop(1)


def fail_branch_gate(d: dict) -> None:
    """The other gating pattern: a Condition whose else-branch fails, and Register after it."""
    gate = step(d, "CheckGates")
    register = gate["Arguments"]["IfSteps"].pop()
    register["DependsOn"] = ["CheckGates"]
    d["Steps"].append(register)


def train_on(instance_type: str, key: bool) -> Callable[[dict], None]:
    def change(d: dict) -> None:
        d["Parameters"][0]["DefaultValue"] = instance_type
        config = step(d, "Train")["Arguments"]["ResourceConfig"]
        if not key:
            del config["VolumeKmsKeyId"]

    return change


def train(instance_type: str, count: int) -> Callable[[dict], None]:
    def change(d: dict) -> None:
        d["Parameters"][0]["DefaultValue"] = instance_type
        config = step(d, "Train")["Arguments"]["ResourceConfig"]
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


def baseline_step(tolerance: float, metric: str = "accuracy") -> Callable[[dict], None]:
    """The LastApprovedMetrics step the TrainingPipeline adds for last-approved gates."""

    def change(d: dict) -> None:
        gates = json.dumps([{"index": 0, "metric": metric, "op": ">=", "tolerance": tolerance}])
        d["Steps"].insert(0, {"Name": "LastApprovedMetrics", "Type": "Lambda", "FunctionArn": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:f",
                              "Arguments": {"model_package_group": "churn-churn-xgb", "gates": gates}, "OutputParameters": []})  # fmt: skip

    return change


# --- monitors and KServe -------------------------------------------------------------------------------


def monitor_alarm(name: str, **inputs: Any) -> Change:
    def change(g: Graph) -> Graph:
        g.add("aws:cloudwatch/metricAlarm:MetricAlarm", name, {"name": f"churn-{g.env}-scoring-{name}", "tags": tags(g.env, model="churn-xgb"), **inputs}, parent="monitor")
        return g

    return change


def features_drifted(threshold: float, op: str = "GreaterThanOrEqualToThreshold") -> Change:
    return monitor_alarm(
        "features-drifted", namespace="mlstack/Drift", metricName="FeaturesDrifted", dimensions={"EndpointName": ENDPOINT_NAME},
        statistic="Maximum", period=3600, evaluationPeriods=1, threshold=threshold, comparisonOperator=op, treatMissingData="notBreaching",
    )  # fmt: skip


def drift_args(features: str) -> Change:
    """The drift job's arguments, as the Monitor writes them into its pipeline."""

    def change(g: Graph) -> Graph:
        d = g.definition("monitor-drift-pipeline")
        d["Steps"][0]["Arguments"]["AppSpecification"]["ContainerArguments"] = ["--endpoint-name", ENDPOINT_NAME, "--features", features]
        return g.set_definition("monitor-drift-pipeline", d)

    return change


def kserve_node(node_type: str, *, affinity: bool = False) -> Change:
    def change(g: Graph) -> Graph:
        predictor = g.get("defects-isvc").inputs["spec"]["predictor"]
        if affinity:
            term = {"matchExpressions": [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["g5.xlarge", node_type]}]}
            predictor["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}
        else:
            predictor["nodeSelector"] = {"node.kubernetes.io/instance-type": node_type, "workload": "inference"}
        return g

    return change


# --- IAM documents and accounts -------------------------------------------------------------------------


def drop_condition(name: str, prop: str, sid: str) -> Change:
    def change(g: Graph) -> Graph:
        statements = statements_of(g, name, prop)
        for s in statements:
            if s.get("Sid") == sid:
                del s["Condition"]
        return set_statements(g, name, prop, statements)

    return change


def admin_policy_resource(g: Graph) -> Graph:
    g.add("aws:iam/policy:Policy", "ops-admin", {"policy": policy_json({"Effect": "Allow", "Action": "*", "Resource": "*"}), "tags": tags(g.env)}, parent="monitor")
    return g


def role_inline(g: Graph) -> Graph:
    policy = policy_json({"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"})
    return g.set("training-role", "inlinePolicies", [{"name": "everything", "policy": policy}])


def without_account_id(g: Graph) -> dict[str, str]:
    """``g``'s stack config without ``mlstack:accountId``."""
    config = g.stack_config()
    del config["mlstack:accountId"]
    return config


def with_placeholder_account(g: Graph) -> Graph:
    """``g`` with every ARN naming the offline engine's placeholder account."""
    for record in g.records:
        text = json.dumps(record.inputs).replace(ACCOUNT, "123456789012")
        record.inputs.clear()
        record.inputs.update(json.loads(text))
    return g


def bind(**accounts: list[str]) -> dict[str, Any]:
    """The pack config binding ``accounts`` to environments."""
    return {ACCOUNTS: {"environmentAccounts": {"dev": [], "staging": [], "prod": [], **accounts}}}


def dict_document(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
