"""Regression file of hostile inputs for ``mlstack promote``: AWS answers, metrics reports,
customer metadata and gate configs written to make it say APPROVED when it should not.

Every case starts from a well-formed world that promote approves (checked by
``test_the_well_formed_world_is_approved``) and changes one thing. The world is served by a
local HTTP server (``canned_aws``) speaking SageMaker's JSON protocol and S3's REST GET, so
botocore parses each garbage reply exactly as it would parse AWS's. A hostile case must stop
the command with a message (exit 1, or 2 for bad config), never print a traceback, never
write a decision (no UpdateModelPackage call) and never read as "no previous Approved version".

Add a case here for every new way found to get past promote.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from .conftest import CannedRequest, aws_error

GROUP = "churn-churn-xgb"
ACCOUNT = "123456789012"
BUCKET = "churn-eval"
T0 = 1_793_000_000.0
UPDATE = "SageMaker.UpdateModelPackage"


def arn(version: int, group: str = GROUP) -> str:
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{group}/{version}"


def summary(version: int, status: str, created: float) -> dict[str, Any]:
    return {
        "ModelPackageArn": arn(version),
        "ModelPackageGroupName": GROUP,
        "ModelPackageVersion": version,
        "CreationTime": created,
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": status,
    }


def package(version: int, status: str, created: float, *, report: str | None, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    described: dict[str, Any] = {
        **summary(version, status, created),
        "ModelPackageName": GROUP,
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "LastModifiedBy": {"UserProfileName": "reviewer"},
    }
    if report:
        described["ModelMetrics"] = {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/{report}"}}}
    if metadata:
        described["CustomerMetadataProperties"] = metadata
    return described


def report(**metrics: Any) -> bytes:
    return json.dumps({"version": 0.0, "binary_classification_metrics": {k: {"value": v} for k, v in metrics.items()}}).encode()


@dataclass
class World:
    """A model registry whose candidate v2 (accuracy 0.92, bias 0.004) beats Approved v1 (0.90)."""

    group: tuple[int, Any] = field(default_factory=lambda: (200, {
        "ModelPackageGroupName": GROUP,
        "ModelPackageGroupArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package-group/{GROUP}",
        "CreationTime": T0,
        "CreatedBy": {},
        "ModelPackageGroupStatus": "Completed",
    }))
    latest: list[tuple[int, Any]] = field(default_factory=lambda: [(200, {"ModelPackageSummaryList": [summary(2, "PendingManualApproval", T0 + 60)]})])
    approved: list[tuple[int, Any]] = field(default_factory=lambda: [(200, {"ModelPackageSummaryList": [summary(1, "Approved", T0)]})])
    packages: dict[str, tuple[int, Any]] = field(default_factory=lambda: {
        arn(2): (200, package(2, "PendingManualApproval", T0 + 60, report="v2.json")),
        arn(1): (200, package(1, "Approved", T0, report="v1.json")),
    })
    objects: dict[str, tuple[int, Any]] = field(default_factory=lambda: {
        "v2.json": (200, report(accuracy=0.92, bias_delta=0.004)),
        "v1.json": (200, report(accuracy=0.90, bias_delta=0.001)),
    })

    @property
    def candidate(self) -> dict[str, Any]:
        return self.packages[arn(2)][1]

    @property
    def baseline(self) -> dict[str, Any]:
        return self.packages[arn(1)][1]

    def __call__(self, request: CannedRequest) -> tuple[int, Any]:
        operation = request.target.split(".", 1)[-1]
        body = request.body or {}
        if operation == "DescribeModelPackageGroup":
            return self.group
        if operation == "ListModelPackages":
            pages = self.approved if "ModelApprovalStatus" in body else self.latest
            return pages.pop(0) if len(pages) > 1 else pages[0]
        if operation == "DescribeModelPackage":
            return self.packages.get(body.get("ModelPackageName"), aws_error("ValidationException", "Model package not found"))
        if operation == "UpdateModelPackage":
            return 200, {"ModelPackageArn": body["ModelPackageArn"]}
        if request.target.startswith("GET /"):
            key = request.target.split("/", 2)[-1]
            return self.objects.get(key, (404, b""))
        return aws_error("UnknownOperationException", f"not scripted: {request.target}")


@pytest.fixture
def run_promote(aws_session, canned_aws, cli, ops_stack) -> Callable[..., Any]:
    """run_promote(world, gates=GATES, *argv) -> (code, out, err, requests) against the scripted world."""

    def run(world: World, *argv: str, gates: list[dict[str, Any]] | None = None):
        server = canned_aws(world)
        code, out, err = cli(
            "promote", str(ops_stack(gates=gates)), "--model", "churn-xgb", "--endpoint-url", server.url, "--max-attempts", "1", *argv
        )
        return code, out, err, server

    return run


def assert_stopped(code: int, out: str, err: str, server: Any, fragment: str, *, exit_code: int = 1) -> None:
    assert code == exit_code, (out, err)
    assert fragment in err, err
    assert "Traceback" not in err + out
    assert "APPROVED" not in out and "no previous Approved version" not in out
    assert UPDATE not in server.requests, "a decision was written"


def test_the_well_formed_world_is_approved(run_promote):
    """The baseline every hostile case changes one thing of: without the change, promote approves."""
    code, out, err, server = run_promote(World())
    assert (code, err) == (0, "")
    assert "APPROVED churn-churn-xgb v2 (every gate passed)" in out
    [update] = [r.body for r in server.received if r.target == UPDATE]
    assert update["ModelApprovalStatus"] == "Approved"


def _approved_pages(*pages: tuple[int, Any]) -> Callable[[World], None]:
    def change(world: World) -> None:
        world.approved = list(pages)

    return change


def _set(path: str, value: Any, target: str = "candidate") -> Callable[[World], None]:
    def change(world: World) -> None:
        node = getattr(world, target)
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        if value is _DROP:
            node.pop(last)
        else:
            node[last] = value

    return change


def _object(key: str, body: bytes) -> Callable[[World], None]:
    def change(world: World) -> None:
        world.objects[key] = (200, body)

    return change


def _metadata_only(**metadata: str) -> Callable[[World], None]:
    """The candidate carries its metrics only as customer metadata (no report)."""

    def change(world: World) -> None:
        world.candidate.pop("ModelMetrics")
        world.candidate["CustomerMetadataProperties"] = {"mlstack:model": "churn-xgb", "mlstack:metric:bias_delta": "0.004", **metadata}

    return change


_DROP = object()
ONE = summary(1, "Approved", T0)
NESTED = b'{"ModelPackageSummaryList": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

HOSTILE_REGISTRY = [
    # ListModelPackages (the last Approved version): never "none" on an answer that is not a list of them
    ("approved-list-html-page", _approved_pages((200, b"<html><body>502 Proxy Error</body></html>")), "answered without a readable ModelPackageSummaryList"),
    ("approved-list-bad-gateway", _approved_pages((502, b"<html>Bad Gateway</html>")), "sagemaker:ListModelPackages failed (502"),
    ("approved-list-missing", _approved_pages((200, {})), "answered without a readable ModelPackageSummaryList"),
    ("approved-list-not-a-list", _approved_pages((200, {"ModelPackageSummaryList": "none"})), "SageMaker ListModelPackages answered something mlstack cannot read"),
    ("approved-list-top-level-array", _approved_pages((200, [ONE])), "SageMaker ListModelPackages answered something mlstack cannot read"),
    ("approved-list-not-utf8", _approved_pages((200, b"\xff\xfe\x00garbage")), "SageMaker ListModelPackages answered something mlstack cannot read"),
    ("approved-list-nested-too-deep", _approved_pages((200, NESTED)), "SageMaker ListModelPackages answered something mlstack cannot read"),
    (
        "approved-list-truncated-then-fails",
        _approved_pages((200, {"ModelPackageSummaryList": [], "NextToken": "page-2"}), aws_error("InternalFailure", "backend unavailable", 500)),
        "sagemaker:ListModelPackages failed (InternalFailure: backend unavailable)",
    ),
    (
        "approved-list-truncated-then-html",
        _approved_pages((200, {"ModelPackageSummaryList": [], "NextToken": "page-2"}), (200, b"<html>login</html>")),
        "answered without a readable ModelPackageSummaryList",
    ),
    ("approved-list-token-repeats", _approved_pages((200, {"ModelPackageSummaryList": [], "NextToken": "again"})), "answered the same NextToken twice"),
    ("approved-list-token-not-a-string", _approved_pages((200, {"ModelPackageSummaryList": [], "NextToken": 7})), "NextToken that is not a string"),
    ("approved-list-other-group", _approved_pages((200, {"ModelPackageSummaryList": [{**ONE, "ModelPackageArn": arn(1, "fraud-xgb"), "ModelPackageGroupName": "fraud-xgb"}]})), "of group 'fraud-xgb'"),
    ("approved-list-filter-ignored", _approved_pages((200, {"ModelPackageSummaryList": [{**ONE, "ModelApprovalStatus": "Rejected"}]})), "asked for Approved versions answered"),
    ("approved-list-status-missing", _approved_pages((200, {"ModelPackageSummaryList": [{k: v for k, v in ONE.items() if k != "ModelApprovalStatus"}]})), "with ModelApprovalStatus None"),
    ("approved-list-arn-missing", _approved_pages((200, {"ModelPackageSummaryList": [{k: v for k, v in ONE.items() if k != "ModelPackageArn"}]})), "answered without a readable ModelPackageSummaryList"),
    ("approved-list-version-as-string", _approved_pages((200, {"ModelPackageSummaryList": [{**ONE, "ModelPackageVersion": "1"}]})), "not a positive whole number"),
    ("approved-list-version-as-boolean", _approved_pages((200, {"ModelPackageSummaryList": [{**ONE, "ModelPackageVersion": True}]})), "not a positive whole number"),
    ("approved-list-version-disagrees-with-arn", _approved_pages((200, {"ModelPackageSummaryList": [{**ONE, "ModelPackageVersion": 7}]})), "disagrees with its ARN"),
    ("approved-list-creation-time-garbage", _approved_pages((200, {"ModelPackageSummaryList": [{**ONE, "CreationTime": "yesterday"}]})), "SageMaker ListModelPackages answered something mlstack cannot read"),
    (
        "approved-list-oldest-first",
        _approved_pages((200, {"ModelPackageSummaryList": [ONE, {**summary(3, "Approved", T0 + 30)}]})),
        "asked for the newest first answered",
    ),
    (
        "approved-list-other-account",
        _approved_pages((200, {"ModelPackageSummaryList": [{**ONE, "ModelPackageArn": arn(1).replace(ACCOUNT, "999999999999")}]})),
        "as the last Approved version of 'churn-churn-xgb', outside its registry",
    ),
    # DescribeModelPackageGroup
    ("group-arn-missing", lambda w: w.group[1].pop("ModelPackageGroupArn"), "answered the group ARN None"),
    ("group-html-page", lambda w: setattr(w, "group", (200, b"<html>maintenance</html>")), "DescribeModelPackageGroup for 'churn-churn-xgb' answered without a group name"),
    ("group-other-name", lambda w: setattr(w, "group", (200, {**w.group[1], "ModelPackageGroupName": "fraud-xgb"})), "answered group 'fraud-xgb'"),
    # DescribeModelPackage of the candidate
    ("candidate-status-missing", _set("ModelApprovalStatus", _DROP), "answered ModelApprovalStatus None"),
    ("candidate-status-lower-case", _set("ModelApprovalStatus", "approved"), "answered ModelApprovalStatus 'approved'"),
    ("candidate-status-padded", _set("ModelApprovalStatus", "Rejected "), "answered ModelApprovalStatus 'Rejected '"),
    ("candidate-describes-another-package", _set("ModelPackageArn", arn(9)), f"answered about '{arn(9)}'"),
    ("candidate-group-missing", _set("ModelPackageGroupName", _DROP), "answered without ModelPackageGroupName"),
    ("candidate-metadata-not-a-map", _set("CustomerMetadataProperties", ["accuracy", "0.99"]), "stopping without a decision"),
    ("candidate-model-metrics-not-an-object", _set("ModelMetrics", "s3://elsewhere/report.json"), "stopping without a decision"),
    ("candidate-statistics-without-uri", _set("ModelMetrics.ModelQuality.Statistics", {"ContentType": "application/json"}), "declares ModelQuality.Statistics without an S3Uri"),
    # DescribeModelPackage of the baseline
    ("baseline-not-approved-after-all", _set("ModelApprovalStatus", "PendingManualApproval", "baseline"), "listed " + arn(1) + " as Approved but describes it as PendingManualApproval"),
    ("baseline-of-another-model", _set("CustomerMetadataProperties", {"mlstack:model": "fraud-xgb"}, "baseline"), "was registered for model 'fraud-xgb'"),
]


@pytest.mark.parametrize(("change", "fragment"), [pytest.param(c, f, id=i) for i, c, f in HOSTILE_REGISTRY])
def test_unreadable_or_unexpected_registry_answers_stop_without_a_decision(run_promote, change, fragment):
    world = World()
    change(world)
    assert_stopped(*run_promote(world), fragment)


HOSTILE_EVIDENCE = [
    # the candidate's metrics report
    ("report-nan", _object("v2.json", b'{"accuracy": NaN, "bias_delta": 0.004}'), "metric 'accuracy' of candidate v2, in its metrics report s3://churn-eval/v2.json, is NaN"),
    ("report-infinity", _object("v2.json", b'{"accuracy": Infinity, "bias_delta": 0.004}'), "metric 'accuracy' of candidate v2, in its metrics report s3://churn-eval/v2.json, is infinite"),
    ("report-minus-infinity-bias", _object("v2.json", b'{"accuracy": 0.95, "bias_delta": -Infinity}'), "metric 'bias_delta' of candidate v2, in its metrics report s3://churn-eval/v2.json, is infinite"),
    ("report-1e309", _object("v2.json", b'{"accuracy": 1e309, "bias_delta": 0.004}'), "metric 'accuracy' of candidate v2, in its metrics report s3://churn-eval/v2.json, is infinite"),
    ("report-integer-beyond-float", _object("v2.json", b'{"accuracy": 1' + b"0" * 400 + b', "bias_delta": 0.004}'), "is a number too large for a float"),
    ("report-nan-in-ungated-metric", _object("v2.json", report(accuracy=0.95, bias_delta=0.004, auc=float("nan"))), "metric 'auc' of candidate v2, in its metrics report s3://churn-eval/v2.json, is NaN"),
    ("report-number-as-string", _object("v2.json", b'{"accuracy": " 0.95", "bias_delta": 0.004}'), "in its metrics report s3://churn-eval/v2.json, is the string ' 0.95'"),
    ("report-boolean", _object("v2.json", b'{"accuracy": true, "bias_delta": 0.004}'), "is a boolean (true)"),
    ("report-nested-value", _object("v2.json", b'{"accuracy": {"value": {"value": 0.95}}, "bias_delta": 0.004}'), "is an object without a numeric 'value'"),
    ("report-list", _object("v2.json", b'{"accuracy": [0.95], "bias_delta": 0.004}'), "metric 'accuracy' of candidate v2, in its metrics report s3://churn-eval/v2.json, is a list"),
    ("report-null", _object("v2.json", b'{"accuracy": null, "bias_delta": 0.004}'), "is null"),
    ("report-duplicate-key", _object("v2.json", b'{"accuracy": 0.5, "bias_delta": 0.004, "accuracy": 0.99}'), "the key 'accuracy' is written twice"),
    (
        "report-two-groups-disagree",
        _object("v2.json", b'{"binary_classification_metrics": {"accuracy": {"value": 0.5}}, "regression_metrics": {"accuracy": {"value": 0.99}}, "bias_delta": 0.004}'),
        "given different values in different groups",
    ),
    ("report-flat-and-nested-disagree", _object("v2.json", b'{"accuracy": 0.99, "metrics": {"accuracy": {"value": 0.5}}, "bias_delta": 0.004}'), "given two different values"),
    ("report-html", _object("v2.json", b"<html>Access portal</html>"), "the metrics report of candidate v2 at s3://churn-eval/v2.json is not JSON"),
    ("report-not-utf8", _object("v2.json", b"\xff\xfe\xfa{"), "is not JSON"),
    ("report-nested-too-deep", _object("v2.json", b"[" * 100_000 + b"]" * 100_000), "nested too deeply"),
    ("report-not-an-object", _object("v2.json", b"[0.95, 0.004]"), "the report is not a JSON object"),
    ("report-missing", lambda w: w.objects.pop("v2.json"), "the metrics report of candidate v2 at s3://churn-eval/v2.json does not exist"),
    # the baseline's report
    ("baseline-report-nan", _object("v1.json", b'{"accuracy": NaN}'), "metric 'accuracy' of the last Approved version v1, in its metrics report s3://churn-eval/v1.json, is NaN"),
    ("baseline-report-string", _object("v1.json", b'{"accuracy": "0.10"}'), "metric 'accuracy' of the last Approved version v1, in its metrics report s3://churn-eval/v1.json, is the string '0.10'"),
    # which report, for which model
    ("report-of-another-model", _set("CustomerMetadataProperties", {"mlstack:model": "fraud-xgb"}), "candidate v2 was registered for model 'fraud-xgb'"),
    (
        "report-replaced-after-registration",
        _set("CustomerMetadataProperties", {"mlstack:evaluation-report": f"s3://{BUCKET}/original.json"}),
        "was registered with s3://churn-eval/original.json",
    ),
    ("report-shared-with-the-baseline", _set("ModelMetrics.ModelQuality.Statistics.S3Uri", f"s3://{BUCKET}/v1.json"), "declare the same metrics report s3://churn-eval/v1.json"),
    ("report-and-metadata-disagree", _set("CustomerMetadataProperties", {"mlstack:metric:accuracy": "0.80"}), "the customer metadata registered with it says 0.8"),
    ("report-uri-with-query", _set("ModelMetrics.ModelQuality.Statistics.S3Uri", f"s3://{BUCKET}/v2.json?versionId=1"), "is not an s3://bucket/key URI"),
    # customer metadata as the only evidence
    ("metadata-nan", _metadata_only(**{"mlstack:metric:accuracy": "nan"}), "of candidate v2, in its customer metadata (mlstack:metric:accuracy), is NaN (the string 'nan')"),
    ("metadata-1e309", _metadata_only(**{"mlstack:metric:accuracy": "1e309"}), "is infinite (the string '1e309')"),
    ("metadata-infinity-ungated", _metadata_only(**{"mlstack:metric:accuracy": "0.95", "mlstack:metric:auc": "Infinity"}), "metric 'auc' of candidate v2, in its customer metadata (mlstack:metric:auc), is infinite"),
    ("metadata-padded-number", _metadata_only(**{"mlstack:metric:accuracy": " 0.95"}), "is the string ' 0.95', not a plain number"),
    ("metadata-underscored-number", _metadata_only(**{"mlstack:metric:accuracy": "0_95"}), "is the string '0_95', not a plain number"),
    ("metadata-word", _metadata_only(**{"mlstack:metric:accuracy": "high"}), "is the string 'high'"),
    ("metadata-two-values", _metadata_only(**{"mlstack:metric:accuracy": "0.80", "accuracy": "0.99"}), "given two different values"),
    ("metadata-ungated-property-nan-under-a-gated-name", _metadata_only(**{"accuracy": "NaN"}), "in its customer metadata (accuracy), is NaN"),
]


@pytest.mark.parametrize(("change", "fragment"), [pytest.param(c, f, id=i) for i, c, f in HOSTILE_EVIDENCE])
def test_evidence_that_is_not_a_plain_finite_number_stops_without_a_decision(run_promote, change, fragment):
    world = World()
    change(world)
    assert_stopped(*run_promote(world), fragment)


def test_an_oversized_report_is_not_read(run_promote, monkeypatch: pytest.MonkeyPatch):
    from mlstack.ops import metrics

    monkeypatch.setattr(metrics, "MAX_REPORT_BYTES", 64)
    world = World()
    world.objects["v2.json"] = (200, report(accuracy=0.92, bias_delta=0.004, padding="x" * 100))
    assert_stopped(*run_promote(world), "more than the 64")


def test_a_baseline_without_the_metric_rejects_rather_than_approves(run_promote):
    world = World()
    world.objects["v1.json"] = (200, report(auc=0.8))
    code, out, err, server = run_promote(world)
    assert code == 1 and "Traceback" not in err
    assert "FAIL accuracy >= last approved: the last Approved version has no 'accuracy' metric" in out
    assert [r.body["ModelApprovalStatus"] for r in server.received if r.target == UPDATE] == ["Rejected"]


@pytest.mark.parametrize(
    "description",
    ["Approved after review by the risk board", "mlstack promote APPROVED v2 (stack churn-dev): PASS accuracy", ""],
)
def test_a_rejected_candidate_is_not_approved_whatever_its_description_says(run_promote, description):
    world = World()
    world.candidate.update(ModelApprovalStatus="Rejected", ApprovalDescription=description)
    world.latest = [(200, {"ModelPackageSummaryList": [summary(2, "Rejected", T0 + 60)]})]
    assert_stopped(*run_promote(world), "churn-churn-xgb v2 was Rejected by reviewer")


@pytest.mark.parametrize(
    ("gate", "key"),
    [
        ({"metric": "auc", "op": ">=", "threshold": float("nan")}, "threshold"),
        ({"metric": "auc", "op": ">=", "threshold": float("inf")}, "threshold"),
        ({"metric": "auc", "op": "<=", "threshold": float("-inf")}, "threshold"),
        ({"metric": "auc", "op": ">=", "threshold": "1e309"}, "threshold"),
        ({"metric": "auc", "op": ">=", "threshold": " 0.95"}, "threshold"),
        ({"metric": "auc", "op": ">=", "threshold": "0_95"}, "threshold"),
        ({"metric": "auc", "op": ">=", "threshold": True}, "threshold"),
        ({"metric": "auc", "op": ">=", "threshold": {"value": 0.9}}, "threshold"),
        ({"metric": "auc", "op": ">=", "threshold": "last-approved", "tolerance": float("nan")}, "tolerance"),
        ({"metric": "auc", "op": ">=", "threshold": "last-approved", "tolerance": float("inf")}, "tolerance"),
        ({"metric": "auc", "op": ">=", "threshold": "last-approved", "tolerance": "0.01"}, "tolerance"),
    ],
)
def test_gate_thresholds_that_are_not_finite_numbers_are_refused_at_the_key(cli, ops_stack, gate, key):
    code, out, err = cli("promote", str(ops_stack(gates=[copy.deepcopy(gate)])), "--model", "churn-xgb")
    assert code == 2 and "Traceback" not in err
    assert f"mlstack:models[0].gates[0].{key}" in err
    assert "must be a finite number" in err


def test_status_reports_an_answer_it_cannot_read_with_the_call_not_a_traceback(aws_session, canned_aws, cli, ops_stack):
    world = World()

    def answer(request: CannedRequest):
        if request.target.endswith(".ListPipelines"):
            return 200, {"PipelineSummaries": [{"PipelineDisplayName": "no name"}]}
        if (request.body or {}).get("ModelApprovalStatus") == "PendingManualApproval":
            return 200, {"ModelPackageSummaryList": []}
        return world(request)

    server = canned_aws(answer)
    code, out, err = cli("status", str(ops_stack()), "--endpoint-url", server.url, "--max-attempts", "1")

    assert (code, out) == (1, "")
    assert err == (
        "mlstack status: error: could not read the AWS answer of sagemaker:ListPipelines (KeyError: 'PipelineName'); "
        "stopping without a decision\n"
    )


def test_a_candidate_arn_from_another_accounts_registry_is_refused(run_promote):
    foreign = arn(2).replace(ACCOUNT, "999999999999")
    world = World()
    world.packages[foreign] = (200, {**world.candidate, "ModelPackageArn": foreign})
    assert_stopped(*run_promote(world, "--candidate", foreign), "is not in the stack's registry (us-east-1 account 123456789012)", exit_code=2)


def test_a_decision_is_not_written_when_the_candidate_changed_meanwhile(run_promote):
    """Someone rejects the candidate while promote evaluates it: the second read differs."""
    world = World()
    rejected = copy.deepcopy(world.candidate)
    rejected["ModelApprovalStatus"] = "Rejected"
    reads = [world.packages[arn(2)], (200, rejected)]

    class Racing(World):
        def __call__(self, request: CannedRequest):
            if request.target.endswith(".DescribeModelPackage") and request.body["ModelPackageName"] == arn(2):
                return reads.pop(0) if len(reads) > 1 else reads[0]
            return super().__call__(request)

    racing = Racing(packages=world.packages, objects=world.objects)
    assert_stopped(*run_promote(racing), "became Rejected while promote was deciding (it was PendingManualApproval); nothing was written")


def test_a_decision_is_not_written_when_a_newer_version_was_approved_meanwhile(run_promote):
    world = World()
    world.approved = [
        (200, {"ModelPackageSummaryList": [ONE]}),
        (200, {"ModelPackageSummaryList": [summary(3, "Approved", T0 + 120), ONE]}),
    ]
    assert_stopped(*run_promote(world), f"changed while promote was deciding ({arn(1)} -> {arn(3)}); nothing was written")


# -- another account's registry: what STS answers when promote assumes source.roleArn -------------


@pytest.mark.parametrize(
    ("reply", "error", "fragment"),
    [
        ({"Credentials": {"AccessKeyId": "AKIA0000000000000000", "SecretAccessKey": "s", "SessionToken": "", "Expiration": T0}},
         "MalformedResponse", "without usable credentials"),
        ({"AssumedRoleUser": {"AssumedRoleId": "AROA:x", "Arn": "arn:aws:sts::111111111111:assumed-role/r/x"}},
         "MalformedResponse", "without usable credentials"),
        (("AccessDenied", "not authorized to perform: sts:AssumeRole"), "OpsError", "may not assume"),
    ],
    ids=["empty-session-token", "no-credentials", "access-denied"],
)
def test_assuming_the_source_registrys_role_fails_closed(reply, error, fragment):
    """An AssumeRole answer without usable credentials, or a refusal, stops before any registry
    call (so nothing is read or approved with the stack's own credentials instead)."""
    from botocore.stub import Stubber

    from mlstack.ops import Aws, AwsSettings
    from mlstack.ops import aws as aws_module
    from mlstack.ops.accounts import assume_role

    aws = Aws(AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:9", max_attempts=1))
    sts = aws.client("sts")
    role = "arn:aws:iam::111111111111:role/mlstack-promoter"
    with Stubber(sts) as stub:
        if isinstance(reply, tuple):
            stub.add_client_error("assume_role", service_error_code=reply[0], service_message=reply[1], http_status_code=403)
        else:
            stub.add_response("assume_role", reply)
        with pytest.raises(getattr(aws_module, error), match=fragment) as raised:
            assume_role(aws, role, region="us-east-1", account="111111111111", purpose="promote")
        stub.assert_no_pending_responses()
    if error == "OpsError":
        assert raised.value.exit_code == 2
# -- mlstack preflight: Service Quotas answers that must not read as "enough quota" ------------------

QUOTA_OK = {"ServiceCode": "sagemaker", "QuotaName": "ml.g5.xlarge for endpoint usage", "QuotaCode": "L-G5XL", "Value": 50.0, "Adjustable": True}


def _preflight_capacity():
    from mlstack.capacity import Node, capacity_of

    config = Node(
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "cfg", "urn:cfg", "urn:c",
        {"productionVariants": [{"variantName": "primary", "instanceType": "ml.g5.xlarge", "initialInstanceCount": 2}]},
    )
    return capacity_of([config, Node("aws:sagemaker/endpoint:Endpoint", "ep", "urn:ep", "urn:c", {"name": "churn-scoring"}, ("urn:cfg",))])


HOSTILE_QUOTAS = [
    ("negative-value", [(200, {"Quotas": [{**QUOTA_OK, "Value": -1.0}]})], "has no usable Value"),
    ("value-a-string", [(200, {"Quotas": [{**QUOTA_OK, "Value": "50"}]})], "has no usable Value"),
    ("value-missing", [(200, {"Quotas": [{k: v for k, v in QUOTA_OK.items() if k != "Value"}]})], "has no usable Value"),
    ("quotas-an-object", [(200, {"Quotas": {"a": QUOTA_OK}})], "ListAWSDefaultServiceQuotas answered something mlstack cannot read"),
    ("no-quotas-key", [(200, {})], "KeyError"),
    ("same-next-token-forever", [(200, {"Quotas": [QUOTA_OK], "NextToken": "again"})], "would never end"),
    ("an-html-page", [(200, b"<html>sign in</html>")], ""),
]


@pytest.mark.parametrize(("replies", "fragment"), [pytest.param(r, f, id=i) for i, r, f in HOSTILE_QUOTAS])
def test_unreadable_quota_answers_stop_preflight_without_a_verdict(canned_aws, monkeypatch, replies, fragment):
    from botocore.exceptions import BotoCoreError

    from mlstack.ops.aws import Aws, AwsSettings, OpsError, translate
    from mlstack.ops.preflight import preflight

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    server = canned_aws(replies)
    aws = Aws(AwsSettings(region="eu-west-1", endpoint_url=server.url, max_attempts=1))
    with pytest.raises((OpsError, BotoCoreError)) as info:
        preflight(aws, _preflight_capacity(), "eu-west-1")
    error = translate(info.value, aws)
    assert error.exit_code == 1 and fragment in str(error)
    assert server.requests[0] == "ServiceQuotasV20190624.ListAWSDefaultServiceQuotas"


def test_throttled_quota_reads_fail_with_the_retry_advice(canned_aws, monkeypatch):
    from botocore.exceptions import ClientError

    from mlstack.ops.aws import Aws, AwsSettings, translate
    from mlstack.ops.preflight import preflight

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    server = canned_aws([aws_error("TooManyRequestsException", "slow down")])
    aws = Aws(AwsSettings(region="eu-west-1", endpoint_url=server.url, max_attempts=2, retry_mode="standard"))
    with pytest.raises(ClientError) as info:
        preflight(aws, _preflight_capacity(), "eu-west-1")
    error = translate(info.value, aws)
    assert error.exit_code == 1 and "raise --max-attempts" in str(error) and len(server.requests) == 2
