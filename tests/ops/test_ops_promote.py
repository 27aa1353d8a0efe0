"""`mlstack promote` against the AWS test endpoint (moto in server mode unless
MLSTACK_TEST_AWS_ENDPOINT names another): gates evaluated from the metrics report in S3 and
customer metadata, the decision and every gate's values written to the registry."""

from __future__ import annotations

import datetime as dt
import re

import botocore.session
import pytest

from mlstack.gates import evaluate_gates
from mlstack.specs.gates import GateSpec
from mlstack.lookups import latest_approved_model_package
from mlstack.ops.metrics import metrics_from_metadata, metrics_from_report
from mlstack.ops.promote import APPROVAL_DESCRIPTION_MAX, approval_description

GROUP = "churn-churn-xgb"


def promote(cli, stack, *extra: str):
    return cli("promote", str(stack), "--model", "churn-xgb", *extra)


def test_approves_a_candidate_that_meets_every_gate_and_records_the_values(aws, cli, ops_stack, registry):
    registry.group()
    registry.version(metrics={"accuracy": 0.90}, status="Approved")
    candidate = registry.version(metrics={"accuracy": 0.92}, metadata={"bias_delta": "0.004"})

    code, out, err = promote(cli, ops_stack())

    assert (code, err) == (0, "")
    package = registry.describe(candidate)
    assert package["ModelApprovalStatus"] == "Approved"
    description = package["ApprovalDescription"]
    assert description.startswith("mlstack promote APPROVED v2 (stack churn-dev, last approved v1, ")
    assert "PASS accuracy >= last approved: accuracy=0.92 meets >= 0.9 (last approved: 0.9) [no worse than production]; " in description
    assert "PASS bias_delta <= 0.01: bias_delta=0.004 meets <= 0.01" in description
    assert "APPROVED churn-churn-xgb v2 (every gate passed)" in out


def test_rejects_a_candidate_that_regresses_and_leaves_production_approved(aws, cli, ops_stack, registry):
    registry.group()
    baseline = registry.version(metrics={"accuracy": 0.90, "bias_delta": 0.001}, status="Approved")
    candidate = registry.version(metrics={"accuracy": 0.87, "bias_delta": 0.002})

    code, out, _ = promote(cli, ops_stack())

    assert code == 1
    package = registry.describe(candidate)
    assert package["ModelApprovalStatus"] == "Rejected"
    assert "FAIL accuracy >= last approved: accuracy=0.87 misses >= 0.9" in package["ApprovalDescription"]
    assert package["ApprovalDescription"].startswith("mlstack promote REJECTED v2")
    assert registry.describe(baseline)["ModelApprovalStatus"] == "Approved"
    assert "REJECTED churn-churn-xgb v2 (1 of 2 gates failed)" in out


def test_first_version_passes_relative_gates_but_not_absolute_ones(aws, cli, ops_stack, registry):
    registry.group()
    candidate = registry.version(metrics={"accuracy": 0.70, "bias_delta": 0.05}, shape="flat")

    code, out, _ = promote(cli, ops_stack())

    assert code == 1
    description = registry.describe(candidate)["ApprovalDescription"]
    assert "last approved none" in description
    assert "PASS accuracy >= last approved: accuracy=0.7; no previous Approved version to compare with" in description
    assert "FAIL bias_delta <= 0.01: bias_delta=0.05 misses <= 0.01" in description
    assert "no previous Approved version" in out


def test_first_version_meeting_absolute_gates_is_approved(aws, cli, ops_stack, registry):
    registry.group()
    candidate = registry.version(metrics={"accuracy": 0.70, "bias_delta": 0.0}, shape="flat")

    code, _, _ = promote(cli, ops_stack())

    assert code == 0
    assert registry.describe(candidate)["ModelApprovalStatus"] == "Approved"
    assert latest_approved_model_package(GROUP, region="us-east-1") == candidate


def test_candidate_without_metrics_fails_every_gate(aws, cli, ops_stack, registry):
    registry.group()
    registry.version(metrics={"accuracy": 0.9, "bias_delta": 0.0}, status="Approved")
    candidate = registry.version()

    code, out, _ = promote(cli, ops_stack())

    assert code == 1
    description = registry.describe(candidate)["ApprovalDescription"]
    assert "FAIL accuracy >= last approved: the candidate has no 'accuracy' metric" in description
    assert "FAIL bias_delta <= 0.01: the candidate has no 'bias_delta' metric" in description
    assert "note: the candidate has no metrics" in out


def test_baseline_without_the_metric_fails_the_relative_gate(aws, cli, ops_stack, registry):
    registry.group()
    registry.version(metrics={"auc": 0.8}, status="Approved")
    candidate = registry.version(metrics={"accuracy": 0.95, "bias_delta": 0.0})

    assert promote(cli, ops_stack())[0] == 1
    assert "the last Approved version has no 'accuracy' metric" in registry.describe(candidate)["ApprovalDescription"]


def test_unreadable_report_stops_without_deciding(aws, cli, ops_stack, registry):
    registry.group()
    missing = registry.version(report_uri=registry.report({}).rsplit("/", 1)[0] + "/gone.json")
    broken = registry.version(report_uri=registry.report(None, raw=b"not json"))

    code, _, err = promote(cli, ops_stack(), "--candidate", "1")
    assert code == 1
    assert "the metrics report of candidate v1 at s3://mlstack-test-metrics/evaluation/gone.json does not exist" in err
    assert "Traceback" not in err

    code, _, err = promote(cli, ops_stack(), "--candidate", broken)
    assert code == 1 and "is not JSON" in err
    assert {registry.describe(a)["ModelApprovalStatus"] for a in (missing, broken)} == {"PendingManualApproval"}


def test_report_access_denied_stops_with_exit_2(aws, ops_stack, registry):
    """moto does not enforce IAM, so S3's AccessDenied comes from botocore's Stubber here."""
    from botocore.stub import Stubber

    from mlstack.config import load_stack
    from mlstack.ops import OpsError, promote as run_promote

    registry.group()
    candidate = registry.version(metrics={"accuracy": 0.9, "bias_delta": 0.0})
    s3 = aws.client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("get_object", "AccessDenied", "Access Denied", 403)
        with pytest.raises(OpsError) as raised:
            run_promote(aws, load_stack(ops_stack()), "churn-xgb")
    assert raised.value.exit_code == 2
    assert "access denied reading the metrics report of candidate v1" in str(raised.value)
    assert "s3:GetObject" in str(raised.value)
    assert registry.describe(candidate)["ModelApprovalStatus"] == "PendingManualApproval"


def test_dry_run_decides_without_changing_the_registry(aws, cli, ops_stack, registry):
    registry.group()
    candidate = registry.version(metrics={"accuracy": 0.9, "bias_delta": 0.0})

    code, out, _ = promote(cli, ops_stack(), "--dry-run")

    assert code == 0
    assert "dry run: the registry was not changed" in out
    package = registry.describe(candidate)
    assert package["ModelApprovalStatus"] == "PendingManualApproval" and "ApprovalDescription" not in package


def test_candidate_by_version_or_arn_and_latest_is_the_newest(aws, cli, ops_stack, registry):
    registry.group()
    first = registry.version(metrics={"accuracy": 0.9, "bias_delta": 0.0})
    newest = registry.version(metrics={"accuracy": 0.9, "bias_delta": 0.5})

    assert promote(cli, ops_stack(), "--candidate", first)[0] == 0
    assert promote(cli, ops_stack())[0] == 1  # latest = v2, whose bias_delta misses
    assert registry.describe(newest)["ModelApprovalStatus"] == "Rejected"
    code, out, _ = promote(cli, ops_stack(), "--candidate", "1")
    assert code == 0 and "is already Approved; nothing to do" in out


def test_candidate_from_another_group_is_bad_input(aws, cli, ops_stack, registry):
    registry.group()
    registry.group("churn-other")
    stranger = registry.version("churn-other", metrics={"accuracy": 1.0, "bias_delta": 0.0})

    code, _, err = promote(cli, ops_stack(), "--candidate", stranger)

    assert code == 2
    assert "belongs to group 'churn-other', not 'churn-churn-xgb'" in err
    assert registry.describe(stranger)["ModelApprovalStatus"] == "PendingManualApproval"


@pytest.mark.parametrize(
    ("argv", "gates", "message"),
    [
        (["--model", "nope"], None, "stack 'churn-dev' declares no model 'nope'; models: churn-xgb"),
        (["--model", "churn-xgb"], [], "model 'churn-xgb' declares no gates (mlstack:models[0].gates)"),
        (["--model", "churn-xgb", "--candidate", "v7"], None, "--candidate 'v7' is not 'latest', a version number or a model package ARN"),
        (["--model", "churn-xgb", "--candidate", "9"], None, "has no version 9"),
    ],
)
def test_bad_input_exits_2(aws, cli, ops_stack, registry, argv, gates, message):
    registry.group()
    code, _, err = cli("promote", str(ops_stack(gates=gates)), *argv)
    assert code == 2
    assert message in err


def test_missing_group_and_empty_group_exit_2(aws, cli, ops_stack, registry):
    code, _, err = promote(cli, ops_stack())
    assert code == 2 and "model package group 'churn-churn-xgb' does not exist in us-east-1" in err
    registry.group()
    code, _, err = promote(cli, ops_stack())
    assert code == 2 and "has no versions yet" in err


def test_latest_approved_lookup_is_shared_and_reads_the_registry(aws, registry):
    registry.group()
    with pytest.raises(LookupError, match="has no Approved version"):
        latest_approved_model_package(GROUP, region="us-east-1")
    older = registry.version(status="Approved")
    registry.version(status="Rejected")
    registry.version()
    assert latest_approved_model_package(GROUP, region="us-east-1") == older
    newer = registry.version(status="Approved")
    assert latest_approved_model_package(GROUP, client=aws.client("sagemaker")) == newer


def test_reads_what_the_training_pipeline_registers(aws, cli, ops_stack, registry):
    registry.group()
    registry.version(metrics={"accuracy": 0.90, "bias_delta": 0.0}, shape="pipeline", status="Approved")
    candidate = registry.version(metrics={"accuracy": 0.91, "bias_delta": 0.02}, shape="pipeline")

    code, out, _ = promote(cli, ops_stack())

    assert code == 1
    assert "PASS accuracy >= last approved: accuracy=0.91 meets >= 0.9" in out
    assert "FAIL bias_delta <= 0.01: bias_delta=0.02 misses <= 0.01" in out
    assert "note:" not in out  # the lineage properties (mlstack:model, mlstack:git-commit) are not metrics
    assert registry.describe(candidate)["ModelApprovalStatus"] == "Rejected"


def test_customer_metadata_metrics():
    values, notes = metrics_from_metadata(
        {
            "mlstack:metric:accuracy": "0.91",
            "mlstack:metric:auc": "n/a",
            "mlstack:git-commit": "0123",
            "latency_p99_ms": "41.5",
            "owner": "churn team",
        }
    )
    assert values == {"accuracy": 0.91, "latency_p99_ms": 41.5}
    assert notes == ["customer metadata 'mlstack:metric:auc' is not a finite number, not used"]


def test_reads_sagemaker_model_quality_and_flat_reports():
    nested = {
        "version": 0.0,
        "binary_classification_metrics": {
            "confusion_matrix": {"0": {"0": 10, "1": 2}},
            "accuracy": {"value": 0.91, "standard_deviation": 0.002},
            "auc": {"value": 0.88},
        },
        "regression_metrics": {"mae": {"value": 1.5}},
    }
    assert metrics_from_report(nested) == {
        "accuracy": 0.91,
        "auc": 0.88,
        "mae": 1.5,
        "binary_classification_metrics.accuracy": 0.91,
        "binary_classification_metrics.auc": 0.88,
        "regression_metrics.mae": 1.5,
    }
    assert metrics_from_report({"accuracy": 0.9, "bias_delta": {"value": 0.01}, "ok": True, "name": "x"}) == {
        "accuracy": 0.9,
        "bias_delta": 0.01,
    }


def test_approval_description_fits_sagemakers_limit_and_keeps_every_gate():
    shape_max = botocore.session.get_session().get_service_model("sagemaker").shape_for("ApprovalDescription").metadata["max"]
    assert APPROVAL_DESCRIPTION_MAX == shape_max
    gates = [GateSpec(metric=f"metric_{i:02d}", op=">=", threshold=0.5, description="x" * 200) for i in range(30)]
    results = evaluate_gates(gates, {f"metric_{i:02d}": 0.75 for i in range(30)})
    when = dt.datetime(2026, 11, 3, 10, 0, tzinfo=dt.timezone.utc)

    text = approval_description(decision="Approved", stack="churn-prod", candidate_version=12, baseline_version=11, results=results, when=when)

    assert len(text) <= APPROVAL_DESCRIPTION_MAX
    assert text.startswith("mlstack promote APPROVED v12 (stack churn-prod, last approved v11, 2026-11-03T10:00:00Z): ")
    assert all(f"PASS metric_{i:02d}=0.75>=0.5" in text for i in range(30))


# -- a Rejected version is not approved again without --override-rejection ------------------------


def _rejected_by_a_person(registry, metrics, description="bias too high on the Q3 holdout"):
    registry.group()
    registry.version(metrics={"accuracy": 0.90, "bias_delta": 0.0}, status="Approved")
    candidate = registry.version(metrics=metrics)
    registry.sagemaker.update_model_package(ModelPackageArn=candidate, ModelApprovalStatus="Rejected", ApprovalDescription=description)
    return candidate


def test_a_rejected_version_stays_rejected_without_the_override_flag(aws, cli, ops_stack, registry):
    candidate = _rejected_by_a_person(registry, {"accuracy": 0.95, "bias_delta": 0.0})

    code, out, err = promote(cli, ops_stack())

    assert (code, out) == (1, "")
    assert "churn-churn-xgb v2 was Rejected by fake-user-profile-name" in err
    assert "('bias too high on the Q3 holdout')" in err and "--override-rejection" in err
    package = registry.describe(candidate)
    assert package["ModelApprovalStatus"] == "Rejected"
    assert package["ApprovalDescription"] == "bias too high on the Q3 holdout"


def test_the_override_approves_a_rejected_version_that_passes_and_records_who_why_and_what(aws, aws_session, cli, ops_stack, registry):
    candidate = _rejected_by_a_person(registry, {"accuracy": 0.95, "bias_delta": 0.0})
    caller = aws_session.client("sts").get_caller_identity()["Arn"]

    code, out, err = promote(cli, ops_stack(), "--override-rejection", "bias re-measured on the fixed holdout, TICKET-12")

    assert (code, err) == (0, "")
    package = registry.describe(candidate)
    assert package["ModelApprovalStatus"] == "Approved"
    description = package["ApprovalDescription"]
    assert description.startswith(
        "mlstack promote APPROVED v2 (stack churn-dev, last approved v1, "
    )
    assert re.search(
        r"OVERRIDES the rejection on record \(Rejected by fake-user-profile-name at \S+Z \('bias too high on the Q3 holdout'\)\): "
        + re.escape(f"override by {caller}, reason 'bias re-measured on the fixed holdout, TICKET-12'; gates: PASS accuracy >= last approved"),
        description,
    ), description
    assert "OVERRIDES the rejection on record" in out


def test_the_override_keeps_who_and_why_whole_when_the_description_is_cut(aws, cli, ops_stack, registry):
    gates = [{"metric": f"m{i:02d}", "op": ">=", "threshold": 0.5, "description": "d" * 200} for i in range(20)]
    metrics = {f"m{i:02d}": 0.75 for i in range(20)}
    candidate = _rejected_by_a_person(registry, metrics, description="x\n" * 600)
    reason = "r" * 300

    code, _, err = promote(cli, ops_stack(gates=gates), "--override-rejection", reason)

    assert (code, err) == (0, "")
    description = registry.describe(candidate)["ApprovalDescription"]
    assert len(description) <= APPROVAL_DESCRIPTION_MAX
    assert "\n" not in description  # SageMaker's pattern ".*" takes one line
    assert f"reason {reason!r}; gates: " in description and "override by arn:" in description


def test_the_override_does_not_approve_a_rejected_version_that_fails_its_gates(aws, cli, ops_stack, registry):
    candidate = _rejected_by_a_person(registry, {"accuracy": 0.95, "bias_delta": 0.5})

    code, out, _ = promote(cli, ops_stack(), "--override-rejection", "retrained")

    assert code == 1
    assert "FAIL bias_delta <= 0.01" in out and "it stays Rejected and its approval description is kept" in out
    package = registry.describe(candidate)
    assert (package["ModelApprovalStatus"], package["ApprovalDescription"]) == ("Rejected", "bias too high on the Q3 holdout")


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("  ", "--override-rejection needs a reason"),
        ("line one\nline two", "must be one line of text"),
        ("r" * 301, "keep it within 300"),
    ],
)
def test_an_override_reason_must_be_one_short_line(aws, cli, ops_stack, registry, reason, message):
    candidate = _rejected_by_a_person(registry, {"accuracy": 0.95, "bias_delta": 0.0})
    code, _, err = promote(cli, ops_stack(), "--override-rejection", reason)
    assert code == 2 and message in err
    assert registry.describe(candidate)["ModelApprovalStatus"] == "Rejected"


def test_the_override_is_refused_for_a_version_that_is_not_rejected(aws, cli, ops_stack, registry):
    registry.group()
    candidate = registry.version(metrics={"accuracy": 0.9, "bias_delta": 0.0})
    code, _, err = promote(cli, ops_stack(), "--override-rejection", "just in case")
    assert code == 2
    assert "--override-rejection applies only to a Rejected version; churn-churn-xgb v1 is PendingManualApproval" in err
    assert registry.describe(candidate)["ModelApprovalStatus"] == "PendingManualApproval"
