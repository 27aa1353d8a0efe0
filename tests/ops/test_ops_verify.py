"""`mlstack verify` against the AWS test endpoint: endpoints that run what the stack declares
pass; a missing endpoint, a wrong instance type or count, an extra or missing variant, a
rolled-back config and a stale model version are each reported. (moto rejects g5 types in
create_endpoint_config, so these endpoints use g4dn and m5.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlstack.config import load_stack
from mlstack.errors import UsageError
from mlstack.ops.verify import ExpectedEndpoint, ExpectedVariant, verify_endpoints

ROLE = "arn:aws:iam::123456789012:role/churn-endpoint"
PRIMARY = ExpectedVariant(name="primary", instance_type="ml.g4dn.xlarge", instance_count=2)
ENDPOINT = ExpectedEndpoint(name="churn-xgb", endpoint_name="churn-churn-xgb", model="churn-xgb", variants=(PRIMARY,))


def lineage(stack: str = "churn-dev", commit: str = "c0ffee", version: str | None = "1") -> dict[str, str]:
    tags = {"mlstack:stack": stack, "mlstack:git-commit": commit, "mlstack:team": "churn"}
    if version is not None:
        tags["mlstack:model-version"] = version
    return tags


def deploy(session, config: str, variants: list[dict[str, Any]], *, tags: dict[str, str], endpoint: str | None = "churn-churn-xgb") -> None:
    """Create a model, an endpoint config with ``variants`` and (optionally) an endpoint on it, as the Endpoint component would."""
    sagemaker = session.client("sagemaker")
    existing = {m["ModelName"] for m in sagemaker.list_models()["Models"]}
    if "churn-xgb-model" not in existing:
        sagemaker.create_model(
            ModelName="churn-xgb-model",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1", "ModelDataUrl": "s3://m/model.tar.gz"},
        )
    sagemaker.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[{"ModelName": "churn-xgb-model", **v} for v in variants],
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    if endpoint:
        sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=config, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def variant(name: str = "primary", instance_type: str = "ml.g4dn.xlarge", count: int = 2) -> dict[str, Any]:
    return {"VariantName": name, "InstanceType": instance_type, "InitialInstanceCount": count}


@pytest.fixture
def stack(ops_stack):
    return load_stack(ops_stack())


@pytest.fixture
def approved_v1(registry):
    registry.group()
    return registry.version(status="Approved")


def test_endpoint_running_the_declared_config_passes(aws, stack, approved_v1, aws_session):
    deploy(aws_session, "churn-xgb-config-1a2b", [variant()], tags=lineage())

    [report] = verify_endpoints(aws, stack, endpoints=[ENDPOINT])

    assert (report.status, report.differences) == ("ok", [])
    assert report.summary == "InService, config churn-xgb-config-1a2b, 1 variant as declared"


def test_reports_every_variant_difference(aws, stack, approved_v1, aws_session):
    deploy(
        aws_session,
        "churn-xgb-config-1a2b",
        [variant(instance_type="ml.m5.large", count=1), variant("shadowless", "ml.m5.large", 1)],
        tags=lineage(),
    )
    declared = ExpectedEndpoint(
        name="churn-xgb",
        endpoint_name="churn-churn-xgb",
        model="churn-xgb",
        variants=(PRIMARY, ExpectedVariant(name="canary", instance_type="ml.g4dn.xlarge", instance_count=1)),
    )

    [report] = verify_endpoints(aws, stack, endpoints=[declared])

    assert report.failed
    assert report.differences == [
        "variant 'primary': instance type ml.m5.large, the stack declares ml.g4dn.xlarge",
        "variant 'primary': 1 instances, the stack declares 2",
        "variant 'canary' is declared but config churn-xgb-config-1a2b has none (it has: primary, shadowless)",
        "variant 'shadowless' runs but the stack does not declare it",
    ]


def test_missing_endpoint_is_a_mismatch(aws, stack, approved_v1):
    [report] = verify_endpoints(aws, stack, endpoints=[ENDPOINT])
    assert report.failed and report.summary == "does not exist in us-east-1"


def test_rolled_back_config_is_caught_by_lineage_tags(aws, stack, approved_v1, registry, aws_session):
    """The endpoint still runs the previous deployment's config: older commit, older model version."""
    registry.version(status="Approved")  # v2 is now the latest Approved version
    deploy(aws_session, "churn-xgb-config-old", [variant()], tags=lineage(commit="0ldc0mm1t", version="1"))
    deploy(aws_session, "churn-xgb-config-new", [variant()], tags=lineage(version="2"), endpoint=None)

    [report] = verify_endpoints(aws, stack, endpoints=[ENDPOINT])

    assert report.differences == [
        "config churn-xgb-config-old was deployed from commit 0ldc0mm1t, this checkout is c0ffee (rolled back, or not deployed yet?)",
        "config churn-xgb-config-old serves model version '1', expected v2 (the latest Approved); "
        "deploy it with `pulumi up`, or the rollout was rolled back",
    ]


def test_pinned_model_version_is_compared_with_the_tag(aws, stack, approved_v1, aws_session):
    deploy(aws_session, "churn-xgb-config-1a2b", [variant()], tags=lineage(version="arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-churn-xgb/3"))
    pinned = ExpectedEndpoint(name="churn-xgb", endpoint_name="churn-churn-xgb", model="churn-xgb", model_version=3, variants=(PRIMARY,))
    assert not verify_endpoints(aws, stack, endpoints=[pinned])[0].failed
    pinned4 = ExpectedEndpoint(name="churn-xgb", endpoint_name="churn-churn-xgb", model="churn-xgb", model_version=4, variants=(PRIMARY,))
    assert verify_endpoints(aws, stack, endpoints=[pinned4])[0].differences == [
        "config churn-xgb-config-1a2b serves model version "
        "'arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-churn-xgb/3', expected v4 (pinned in the stack); "
        "deploy it with `pulumi up`, or the rollout was rolled back"
    ]


def test_outputs_name_the_config_the_endpoint_must_run(aws, stack, approved_v1, aws_session):
    deploy(aws_session, "churn-xgb-config-old", [variant()], tags=lineage())
    outputs = {"endpoints": {"churn-xgb": {"endpointName": "churn-churn-xgb", "endpointConfigName": "churn-xgb-config-new"}}}

    [report] = verify_endpoints(aws, stack, endpoints=[ENDPOINT], outputs=outputs)
    assert report.differences == [
        "runs endpoint config churn-xgb-config-old, the stack deployed churn-xgb-config-new (rolled back or changed outside the stack?)"
    ]

    outputs["endpoints"]["churn-xgb"]["endpointConfigName"] = "churn-xgb-config-old"
    assert verify_endpoints(aws, stack, endpoints=[ENDPOINT], outputs=outputs)[0].status == "ok"


def test_config_of_another_stack_is_a_mismatch(aws, stack, approved_v1, aws_session):
    deploy(aws_session, "churn-xgb-config-1a2b", [variant()], tags=lineage(stack="churn-prod"))
    assert verify_endpoints(aws, stack, endpoints=[ENDPOINT])[0].differences == [
        "config churn-xgb-config-1a2b is tagged mlstack:stack='churn-prod', expected 'churn-dev'"
    ]


def test_kserve_endpoints_are_not_checked(aws, stack):
    kserve = ExpectedEndpoint(name="vision", endpoint_name="churn-vision", backend="kserve")
    [report] = verify_endpoints(aws, stack, endpoints=[kserve])
    assert (report.status, report.failed) == ("not checked", False)
    assert report.render() == "NOT CHECKED churn-vision: not checked (kserve)"


def test_cli_without_endpoints_has_nothing_to_verify(aws, cli, ops_stack):
    code, out, _ = cli("verify", str(ops_stack()))
    assert code == 0 and "declares no endpoints" in out


@pytest.mark.parametrize(("content", "message"), [(None, "cannot read --outputs"), ("[1]", "is not a JSON object"), ("{", "is not JSON")])
def test_cli_rejects_unreadable_outputs(aws, cli, ops_stack, tmp_path, content, message):
    path = tmp_path / "outputs.json"
    if content is not None:
        path.write_text(content)
    code, _, err = cli("verify", str(ops_stack()), "--outputs", str(path))
    assert code == 2 and message in err


def test_outputs_without_endpoints_section_is_a_mismatch(aws, stack, approved_v1, aws_session):
    deploy(aws_session, "churn-xgb-config-1a2b", [variant()], tags=lineage())
    [report] = verify_endpoints(aws, stack, endpoints=[ENDPOINT], outputs=json.loads('{"registries": {}}'))
    assert report.differences == [
        "the stack outputs name no endpoint config for 'churn-xgb' (outputs key 'endpoints'); pass outputs of this stack"
    ]


IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-serving@sha256:" + "a" * 64


def test_expectations_come_from_the_endpoint_spec():
    from mlstack.specs.endpoint import EndpointSpec
    from mlstack.ops.verify import expected_from_spec

    spec = EndpointSpec.model_validate(
        {
            "name": "scoring",
            "model": "churn-xgb",
            "image": IMAGE,
            "artifactsUri": "s3://example-churn-models/churn-xgb/",
            "instanceType": "ml.g4dn.xlarge",
            "instanceCount": 2,
            "modelVersion": 3,
            "shadow": {"modelVersion": 4, "instanceType": "ml.m5.large"},
        }
    )
    assert expected_from_spec("churn-scoring", spec) == ExpectedEndpoint(
        name="scoring",
        endpoint_name="churn-scoring",
        model="churn-xgb",
        model_version=3,
        variants=(ExpectedVariant(name="primary", instance_type="ml.g4dn.xlarge", instance_count=2),),
        shadow_variants=(ExpectedVariant(name="shadow", instance_type="ml.m5.large", instance_count=1),),
    )
    latest = EndpointSpec.model_validate(
        {"name": "scoring", "model": "churn-xgb", "image": IMAGE, "modelDataUrl": "s3://example-churn-models/model.tar.gz", "serverless": {"memorySizeMb": 2048, "maxConcurrency": 5}, "dataCapture": {"enabled": False}}
    )
    expected = expected_from_spec("churn-scoring", latest)
    assert (expected.model, expected.model_version) == (None, None)  # a bare model data URL: no registry version to compare
    assert expected.variants == (ExpectedVariant(name="primary", serverless=True),)


def test_shadow_variant_differences_are_reported(aws, stack):
    """moto drops ShadowProductionVariants from endpoint configs, so the SageMaker answers come from botocore's Stubber."""
    from botocore.stub import Stubber

    sagemaker = aws.client("sagemaker")
    config_arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/churn-xgb-config-1a2b"
    shadowed = ExpectedEndpoint(
        name="churn-xgb",
        endpoint_name="churn-churn-xgb",
        variants=(PRIMARY,),
        shadow_variants=(ExpectedVariant(name="shadow", instance_type="ml.g4dn.xlarge", instance_count=1),),
    )
    now = "2026-11-03T10:00:00Z"
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "describe_endpoint",
            {
                "EndpointName": "churn-churn-xgb",
                "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-churn-xgb",
                "EndpointConfigName": "churn-xgb-config-1a2b",
                "EndpointStatus": "InService",
                "CreationTime": now,
                "LastModifiedTime": now,
            },
            {"EndpointName": "churn-churn-xgb"},
        )
        stub.add_response(
            "describe_endpoint_config",
            {
                "EndpointConfigName": "churn-xgb-config-1a2b",
                "EndpointConfigArn": config_arn,
                "ProductionVariants": [{"VariantName": "primary", "InstanceType": "ml.g4dn.xlarge", "InitialInstanceCount": 2}],
                "ShadowProductionVariants": [{"VariantName": "shadow", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
                "CreationTime": now,
            },
            {"EndpointConfigName": "churn-xgb-config-1a2b"},
        )
        stub.add_response("list_tags", {"Tags": [{"Key": k, "Value": v} for k, v in lineage().items()]}, {"ResourceArn": config_arn})
        [report] = verify_endpoints(aws, stack, endpoints=[shadowed])
        stub.assert_no_pending_responses()
    assert report.differences == ["shadow variant 'shadow': instance type ml.m5.large, the stack declares ml.g4dn.xlarge"]


def test_endpoint_not_in_service_is_a_mismatch(aws, stack):
    """moto has no UpdateEndpoint and creates endpoints InService, so a failed rollout is stubbed (botocore's Stubber)."""
    from botocore.stub import Stubber

    sagemaker = aws.client("sagemaker")
    config_arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/churn-xgb-config-1a2b"
    pinned = ExpectedEndpoint(name="churn-xgb", endpoint_name="churn-churn-xgb", model="churn-xgb", model_version=1, variants=(PRIMARY,))
    now = "2026-11-03T10:00:00Z"
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "describe_endpoint",
            {
                "EndpointName": "churn-churn-xgb",
                "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-churn-xgb",
                "EndpointConfigName": "churn-xgb-config-1a2b",
                "EndpointStatus": "Failed",
                "FailureReason": "The rollback alarm churn-churn-xgb-5xx-error-rate fired",
                "CreationTime": now,
                "LastModifiedTime": now,
            },
            {"EndpointName": "churn-churn-xgb"},
        )
        stub.add_response(
            "describe_endpoint_config",
            {
                "EndpointConfigName": "churn-xgb-config-1a2b",
                "EndpointConfigArn": config_arn,
                "ProductionVariants": [{"VariantName": "primary", "InstanceType": "ml.g4dn.xlarge", "InitialInstanceCount": 2}],
                "CreationTime": now,
            },
            {"EndpointConfigName": "churn-xgb-config-1a2b"},
        )
        stub.add_response("list_tags", {"Tags": [{"Key": k, "Value": v} for k, v in lineage().items()]}, {"ResourceArn": config_arn})
        [report] = verify_endpoints(aws, stack, endpoints=[pinned])
        stub.assert_no_pending_responses()
    assert report.differences == ["status is Failed (The rollback alarm churn-churn-xgb-5xx-error-rate fired), expected InService"]


def endpoint_stack(ops_stack, instance_type: str = "ml.g4dn.xlarge"):
    """A churn-dev stack declaring a SageMaker endpoint (churn-scoring) and a KServe endpoint."""
    return ops_stack(
        **{
            "mlstack:endpoints": [
                {
                    "name": "scoring",
                    "model": "churn-xgb",
                    "image": IMAGE,
                    "artifactsUri": "s3://example-churn-models/churn-xgb/",
                    "instanceType": instance_type,
                    "instanceCount": 2,
                },
                {
                    "name": "defects",
                    "model": "churn-xgb",
                    "backend": "kserve",
                    "modelVersion": 1,
                    "kserve": {"modelFormat": {"name": "xgboost"}, "storageUri": "s3://example-churn-models/churn-xgb/1/"},
                },
            ]
        }
    )


def test_cli_passes_endpoints_running_as_declared(aws, cli, ops_stack, approved_v1, aws_session):
    deploy(aws_session, "scoring-config-5e6f", [variant()], tags=lineage(), endpoint="churn-scoring")

    code, out, err = cli("verify", str(endpoint_stack(ops_stack)), "--skip-kserve")

    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "OK          churn-scoring: InService, config scoring-config-5e6f, 1 variant as declared",
        "NOT CHECKED defects: not checked (kserve)",
        "",
        "1 endpoint runs as the stack declares",
    ]


def test_cli_prints_what_differs_and_exits_1(aws, cli, ops_stack, approved_v1, aws_session, tmp_path):
    deploy(aws_session, "scoring-config-5e6f", [variant(instance_type="ml.m5.large")], tags=lineage(), endpoint="churn-scoring")
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"endpoints": {"scoring": {"endpointName": "churn-scoring", "endpointConfigName": "scoring-config-9a8b"}}}))

    code, out, _ = cli("verify", str(endpoint_stack(ops_stack)), "--outputs", str(outputs), "--skip-kserve")

    assert code == 1
    assert out.splitlines() == [
        "MISMATCH    churn-scoring: InService, config scoring-config-5e6f",
        "  - runs endpoint config scoring-config-5e6f, the stack deployed scoring-config-9a8b (rolled back or changed outside the stack?)",
        "  - variant 'primary': instance type ml.m5.large, the stack declares ml.g4dn.xlarge",
        "NOT CHECKED defects: not checked (kserve)",
        "",
        "1 of 1 checked endpoint differs from the stack",
    ]


DEFERRED = {"deferredEndpoints": {"churn-xgb": {"model": "churn-xgb", "modelPackageGroup": "churn-churn-xgb", "waitsFor": "an Approved version"}}, "endpoints": {}}


def test_an_endpoint_the_last_deployment_deferred_is_reported_as_deferred_while_nothing_is_approved(aws, stack, registry):
    registry.group()
    registry.version(status="PendingManualApproval")

    [report] = verify_endpoints(aws, stack, endpoints=[ENDPOINT], outputs=DEFERRED)

    assert report.status == "deferred" and not report.failed
    assert "churn-churn-xgb has no Approved version yet" in report.summary


def test_a_deferred_endpoint_whose_model_is_now_approved_is_a_mismatch(aws, stack, approved_v1):
    [report] = verify_endpoints(aws, stack, endpoints=[ENDPOINT], outputs=DEFERRED)

    assert report.failed and "now has Approved version 1" in report.summary
    assert report.differences == ["run `pulumi up` to create the endpoint with that version"]


def test_unreadable_deferred_outputs_are_bad_input(aws, stack):
    with pytest.raises(UsageError, match="deferredEndpoints"):
        verify_endpoints(aws, stack, endpoints=[ENDPOINT], outputs={"endpoints": {}, "deferredEndpoints": ["churn-xgb"]})
