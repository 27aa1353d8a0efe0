"""A pinned model version is served only when the registry approved it, in the environments that
require approval (prod): checked at deploy time against the registry (moto's SageMaker API), and
offline from what the stack config says about the registry.

The status found is recorded as the lineage tag ``mlstack:approval-status``, which the policy
``mlstack-endpoint-serves-approved-package`` then requires to be Approved.
"""

from __future__ import annotations

import pytest

from mlstack import lookups

MODEL = "aws:sagemaker/model:Model"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
DIGEST = "sha256:" + "ab" * 32
IMAGE = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-serve@{DIGEST}"
GROUP = "churn-churn-xgb"
KEY = "mlstack:endpoints[0].modelVersion"


def pinned_stack(write_stack, version, *, env="prod", stack="churn-prod", **changes):
    endpoint = {
        "name": "scoring", "model": "churn-xgb", "modelVersion": version, "image": IMAGE,
        "artifactsUri": "s3://example-churn-models/churn-xgb/", "instanceType": "ml.m5.large",
    }  # fmt: skip
    config = {"aws:region": "us-east-1", "mlstack:environment": env, "mlstack:endpoints": [endpoint]}
    config.update(changes)
    return write_stack(config, stack=stack)


def register(sagemaker, *statuses: str) -> list[str]:
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    return [
        sagemaker.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://m/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
        for status in statuses
    ]


# -- live lookups (`mlstack plan --lookups aws`, what `pulumi up` would find) -------------------------


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_prod_refuses_a_pinned_version_the_registry_has_not_approved(aws_session, write_stack, cli, status):
    register(aws_session.client("sagemaker"), "Approved", status)
    code, out, err = cli("plan", str(pinned_stack(write_stack, 2)), "--lookups", "aws")
    assert code == 2, out + err
    assert KEY in err and f"registry status {status!r}" in err and "prod serves Approved versions only" in err
    assert "mlstack promote" in err and "Traceback" not in err
    assert "offline" not in err, "a live answer is not called a deduction"


def test_prod_serves_a_pinned_approved_version_and_records_its_status(aws_session, write_stack):
    from mlstack.engine import plan_stack

    register(aws_session.client("sagemaker"), "PendingManualApproval", "Approved")
    graph = plan_stack(pinned_stack(write_stack, 2), lookups="aws")
    [model] = graph.by_type(MODEL)
    assert model.inputs["primaryContainer"]["modelPackageName"].endswith(f"/{GROUP}/2")
    assert model.inputs["tags"]["mlstack:approval-status"] == "Approved"
    assert model.inputs["tags"]["mlstack:model-version"] == "2"


def test_prod_refuses_a_pinned_version_the_registry_does_not_have(aws_session, write_stack, cli):
    register(aws_session.client("sagemaker"), "Approved")
    code, out, err = cli("plan", str(pinned_stack(write_stack, 5)), "--lookups", "aws")
    assert code == 2 and KEY in err and "does not exist in the registry" in err and "Traceback" not in err


def test_dev_serves_a_pending_version_and_records_that_it_is_pending(aws_session, write_stack):
    from mlstack.engine import plan_stack

    register(aws_session.client("sagemaker"), "Approved", "PendingManualApproval")
    graph = plan_stack(pinned_stack(write_stack, 2, env="dev", stack="churn-dev"), lookups="aws")
    [model] = graph.by_type(MODEL)
    assert model.inputs["tags"]["mlstack:approval-status"] == "PendingManualApproval"
    assert graph.by_type(ENDPOINT)


def test_under_pulumi_up_an_unapproved_pin_is_a_run_error(aws_session, write_stack):
    """``pulumi up`` has no offline answers: the lookups ask AWS and the program stops with a RunError."""
    import pulumi

    from mlstack.config import load_stack
    from mlstack.engine import answers_for, run_program
    from mlstack.program import main

    register(aws_session.client("sagemaker"), "Approved", "Rejected")
    stack = load_stack(pinned_stack(write_stack, 2))

    def deploy():
        token = lookups._OFFLINE.set(None)  # what `pulumi up` is: nothing answered offline
        try:
            main()
        finally:
            lookups._OFFLINE.reset(token)

    with pytest.raises(pulumi.RunError, match=r"modelVersion.*registry status 'Rejected'.*prod serves Approved versions only"):
        run_program(deploy, project="mlstack", stack=stack.stack, config=stack.pulumi_config(), answers=answers_for(stack))


def test_the_status_lookup_fails_closed_on_an_answer_it_cannot_read():
    from mlstack.ops.registry import MalformedResponse

    arn = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{GROUP}/2"

    class Garbage:
        def describe_model_package(self, **kwargs):
            return {"ModelPackageArn": arn, "ModelPackageGroupName": GROUP, "ModelApprovalStatus": "<html>"}

    with pytest.raises(MalformedResponse):
        lookups.model_package_status(arn, client=Garbage())


# -- offline (`mlstack plan`, `mlstack check`) ------------------------------------------------------


def test_offline_a_pin_newer_than_the_latest_approved_version_is_refused_in_prod(write_stack, cli):
    models = [{"name": "churn-xgb", "dataset": {"uri": "s3://example-churn-data/features/"}, "approvedVersion": 3}]
    code, out, err = cli("plan", str(pinned_stack(write_stack, 5, **{"mlstack:models": models})))
    assert code == 2 and KEY in err and "'PendingManualApproval'" in err
    assert "offline: deduced from mlstack:models[].approvedVersion" in err and "--lookups aws" in err


@pytest.mark.parametrize("version", [3, 2])
def test_offline_a_pin_up_to_the_latest_approved_version_is_served(write_stack, plan, version):
    models = [{"name": "churn-xgb", "dataset": {"uri": "s3://example-churn-data/features/"}, "approvedVersion": 3}]
    graph = plan(pinned_stack(write_stack, version, **{"mlstack:models": models}))
    [model] = graph.by_type(MODEL)
    assert model.inputs["tags"]["mlstack:approval-status"] == "Approved"


def test_offline_nothing_approved_means_no_pin_is_approved(write_stack, cli):
    models = [{"name": "churn-xgb", "dataset": {"uri": "s3://example-churn-data/features/"}, "approvedVersion": "none"}]
    code, _, err = cli("plan", str(pinned_stack(write_stack, 1, **{"mlstack:models": models})))
    assert code == 2 and KEY in err


def test_latest_approved_is_recorded_as_approved_without_another_lookup(write_stack, plan):
    graph = plan(write_stack({"mlstack:endpoints": [{"name": "scoring", "model": "churn-xgb", "image": IMAGE,
                                                     "artifactsUri": "s3://example-churn-models/m/", "instanceType": "ml.m5.large"}]}))  # fmt: skip
    [model] = graph.by_type(MODEL)
    assert model.inputs["tags"]["mlstack:approval-status"] == "Approved"


def test_kserve_prod_pin_is_checked_too(write_stack, cli):
    models = [{"name": "churn-xgb", "dataset": {"uri": "s3://example-churn-data/features/"}, "approvedVersion": 3}]
    endpoint = {
        "name": "defects", "model": "churn-xgb", "backend": "kserve", "modelVersion": 4, "instanceType": "g5.xlarge", "gpus": 1,
        "rollout": {"type": "CANARY", "size": {"type": "CAPACITY_PERCENT", "value": 10}}, "autoscaling": {"minCapacity": 2, "maxCapacity": 4, "targetInvocationsPerInstance": 100},
        "kserve": {"modelFormat": {"name": "pytorch"}, "storageUri": "s3://example-churn-models/4/"},
    }  # fmt: skip
    config = {"aws:region": "us-east-1", "mlstack:environment": "prod", "mlstack:models": models, "mlstack:endpoints": [endpoint]}
    code, out, err = cli("plan", str(write_stack(config, stack="churn-prod")))
    assert code == 2, out + err
    assert KEY in err and "'PendingManualApproval'" in err


def test_the_tag_the_program_writes_is_the_one_the_policy_reads():
    from mlstack.program.serving import APPROVAL_STATUS_TAG
    from mlstack.policy.rules.endpoint_serves_approved_package import APPROVAL_LABEL, APPROVAL_STATUS

    assert APPROVAL_STATUS_TAG == APPROVAL_STATUS
    assert APPROVAL_LABEL == "mlstack.dev/" + APPROVAL_STATUS.removeprefix("mlstack:")
