"""Cross-account promotion: what the training account grants a reader account, what the reader's
stack asks for, and the whole path evaluated offline (tests/iam_eval.py) on the exact policies
the two plans register.

Training stack: the bundled churn-prod (reader 345678901234). Reader stack: a prod stack in
345678901234 serving churn-prod's group through ``source.registry``.
"""

from __future__ import annotations

import copy
import json

import botocore.session
import pytest
import yaml

from conftest import BASELINE, ROOT
from iam_eval import ALLOW, DENY, IMPLICIT_DENY, Request, cross_account, decide, statements

TRAINING_ACCOUNT = "210987654321"
READER = "345678901234"
OTHER = "999999999999"
REGION = "eu-west-1"
GROUP_ARN = f"arn:aws:sagemaker:{REGION}:{TRAINING_ACCOUNT}:model-package-group/churn-churn-xgb"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:{REGION}:{TRAINING_ACCOUNT}:key/{KEY_ID}"
IMAGE = f"{TRAINING_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/churn-xgb-serve@sha256:" + "b0" * 32
READER_ROLE = f"arn:aws:iam::{READER}:role/churn-scoring-role"
OTHER_ROLE = f"arn:aws:iam::{OTHER}:role/anyone"


@pytest.fixture(scope="module")
def training_plan():
    from mlstack.engine import plan_stack

    return plan_stack("churn-prod", cwd=ROOT)


@pytest.fixture(scope="module")
def bucket(training_plan):
    [bucket] = [r for r in training_plan.by_type("aws:s3/bucket:Bucket") if r.name == "churn-xgb-training-artifacts"]
    return bucket


def _bucket_arn(plan, name):
    # The offline engine names autonamed buckets <name>-<hex>; the policy names the same ARN.
    [policy] = [r for r in plan.by_type("aws:s3/bucketPolicy:BucketPolicy") if r.name == f"{name}-policy"]
    return next(s["Resource"][0] for s in statements(policy.inputs["policy"]) if s["Sid"] == "DenyInsecureTransport"), policy


@pytest.fixture(scope="module")
def reader_plan(tmp_path_factory, training_plan):
    from mlstack.engine import plan_stack

    bucket_arn, _ = _bucket_arn(training_plan, "churn-xgb-training-artifacts")
    config = copy.deepcopy(BASELINE)
    config.update({
        "mlstack:environment": "prod", "mlstack:accountId": READER,
        "mlstack:models": [{"name": "churn-xgb", "approvedVersion": 7, "source": {
            "registry": GROUP_ARN, "artifactsKeyArn": KEY_ARN, "roleArn": f"arn:aws:iam::{TRAINING_ACCOUNT}:role/mlstack-promoter"}}],
        "mlstack:endpoints": [{"name": "scoring", "model": "churn-xgb", "image": IMAGE, "instanceType": "ml.m5.large",
                               "artifactsUri": f"s3://{bucket_arn.split(':::')[1]}/models/"}],
    })
    path = tmp_path_factory.mktemp("reader") / "Pulumi.churn-prod.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return plan_stack(path, cwd=ROOT)


# ---- the training account grants exactly what a reader needs --------------------------------------


def test_bucket_policy_lets_readers_get_model_artifacts_only(training_plan):
    bucket_arn, policy = _bucket_arn(training_plan, "churn-xgb-training-artifacts")
    doc = statements(policy.inputs["policy"])
    https = {"aws:SecureTransport": "true"}
    model = f"{bucket_arn}/models/pipelines-abc/output/model.tar.gz"
    assert decide(doc, Request(READER_ROLE, "s3:GetObject", model, https), resource_policy=True) == ALLOW
    for action, resource in (
        ("s3:GetObject", f"{bucket_arn}/data/train/part-0.csv"),        # training data
        ("s3:GetObject", f"{bucket_arn}/evaluation/run/evaluation.json"),  # reports
        ("s3:PutObject", model),
        ("s3:DeleteObject", model),
        ("s3:ListBucket", bucket_arn),
    ):
        assert decide(doc, Request(READER_ROLE, action, resource, https), resource_policy=True) in (IMPLICIT_DENY, DENY), (action, resource)
    assert decide(doc, Request(OTHER_ROLE, "s3:GetObject", model, https), resource_policy=True) == IMPLICIT_DENY
    assert decide(doc, Request(READER_ROLE, "s3:GetObject", model, {"aws:SecureTransport": "false"}), resource_policy=True) == DENY


def test_key_policy_lets_readers_decrypt_through_s3_as_themselves_only(training_plan):
    [key] = [r for r in training_plan.by_type("aws:kms/key:Key") if r.name == "churn-xgb-training-key"]
    doc = statements(key.inputs["policy"])
    through_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com", "kms:CallerAccount": READER}
    assert decide(doc, Request(READER_ROLE, "kms:Decrypt", KEY_ARN, through_s3), resource_policy=True) == ALLOW
    refused = [
        ("kms:Decrypt", {"kms:CallerAccount": READER}),  # directly, not through S3
        ("kms:Decrypt", {**through_s3, "kms:ViaService": f"sagemaker.{REGION}.amazonaws.com"}),
        ("kms:Decrypt", {**through_s3, "kms:ViaService": "s3.us-east-1.amazonaws.com"}),  # another region's S3
        ("kms:Encrypt", through_s3),
        ("kms:GenerateDataKey", through_s3),
        ("kms:ReEncryptFrom", through_s3),
        ("kms:CreateGrant", through_s3),
        ("kms:PutKeyPolicy", through_s3),
    ]
    for action, context in refused:
        assert decide(doc, Request(READER_ROLE, action, KEY_ARN, context), resource_policy=True) == IMPLICIT_DENY, (action, context)
    # The account condition holds even if a principal of another account were listed.
    assert decide(doc, Request(OTHER_ROLE, "kms:Decrypt", KEY_ARN, {**through_s3, "kms:CallerAccount": OTHER}), resource_policy=True) == IMPLICIT_DENY
    # The training account itself still administers the key.
    assert decide(doc, Request(f"arn:aws:iam::{TRAINING_ACCOUNT}:role/admin", "kms:PutKeyPolicy", KEY_ARN), resource_policy=True) == ALLOW


def test_repository_policy_lets_readers_pull_the_serving_image_only(training_plan):
    [policy] = training_plan.by_type("aws:ecr/repositoryPolicy:RepositoryPolicy")
    assert policy.inputs["repository"] == "churn-xgb-serve"  # training.inference.image's repository
    doc = statements(policy.inputs["policy"])
    repo = f"arn:aws:ecr:{REGION}:{TRAINING_ACCOUNT}:repository/churn-xgb-serve"
    for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"):
        assert decide(doc, Request(READER_ROLE, action, repo), resource_policy=True) == ALLOW
        assert decide(doc, Request(OTHER_ROLE, action, repo), resource_policy=True) == IMPLICIT_DENY
    for action in ("ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:BatchDeleteImage", "ecr:SetRepositoryPolicy"):
        assert decide(doc, Request(READER_ROLE, action, repo), resource_policy=True) == IMPLICIT_DENY


def test_registry_group_policy_lets_readers_describe_and_deploy_but_not_approve(training_plan):
    [policy] = training_plan.by_type("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy")
    doc = statements(policy.inputs["resourcePolicy"])
    package = GROUP_ARN.replace("model-package-group/", "model-package/") + "/7"
    for action in ("sagemaker:DescribeModelPackage", "sagemaker:CreateModel", "sagemaker:ListModelPackages"):
        assert decide(doc, Request(READER_ROLE, action, package), resource_policy=True) == ALLOW
    assert decide(doc, Request(READER_ROLE, "sagemaker:DescribeModelPackageGroup", GROUP_ARN), resource_policy=True) == ALLOW
    for action in ("sagemaker:UpdateModelPackage", "sagemaker:DeleteModelPackage", "sagemaker:CreateModelPackage"):
        assert decide(doc, Request(READER_ROLE, action, package), resource_policy=True) == IMPLICIT_DENY
    assert decide(doc, Request(OTHER_ROLE, "sagemaker:DescribeModelPackage", package), resource_policy=True) == IMPLICIT_DENY


# ---- the reader's stack, and the whole path ---------------------------------------------------------


def test_reader_stack_serves_the_source_version_and_creates_no_registry(reader_plan):
    assert reader_plan.by_type("mlstack:index:ModelRegistry") == []
    assert reader_plan.by_type("aws:sagemaker/modelPackageGroup:ModelPackageGroup") == []
    [model] = reader_plan.by_type("aws:sagemaker/model:Model")
    assert model.inputs["primaryContainer"]["modelPackageName"] == GROUP_ARN.replace("model-package-group/", "model-package/") + "/7"
    assert model.inputs["tags"]["mlstack:source"] == GROUP_ARN
    assert model.inputs["tags"]["mlstack:model-version"] == "7"


def test_the_reader_endpoint_role_can_fetch_everything_createmodel_needs_across_accounts(training_plan, reader_plan):
    """Identity policy (reader account) and resource policy (training account) together, as AWS
    evaluates a cross-account request: the artifacts object, its decryption through S3, the image."""
    [role_policy] = reader_plan.by_type("aws:iam/rolePolicy:RolePolicy")
    identity = statements(role_policy.inputs["policy"])
    bucket_arn, bucket_policy = _bucket_arn(training_plan, "churn-xgb-training-artifacts")
    [key] = [r for r in training_plan.by_type("aws:kms/key:Key") if r.name == "churn-xgb-training-key"]
    [repo_policy] = training_plan.by_type("aws:ecr/repositoryPolicy:RepositoryPolicy")
    model = f"{bucket_arn}/models/pipelines-abc/output/model.tar.gz"
    https = {"aws:SecureTransport": "true"}
    s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com", "kms:CallerAccount": READER}
    repo = f"arn:aws:ecr:{REGION}:{TRAINING_ACCOUNT}:repository/churn-xgb-serve"

    assert cross_account(identity, statements(bucket_policy.inputs["policy"]), Request(READER_ROLE, "s3:GetObject", model, https)) == ALLOW
    assert cross_account(identity, statements(key.inputs["policy"]), Request(READER_ROLE, "kms:Decrypt", KEY_ARN, s3)) == ALLOW
    assert cross_account(identity, statements(repo_policy.inputs["policy"]), Request(READER_ROLE, "ecr:BatchGetImage", repo)) == ALLOW
    # ...and not a byte more: the training data, another key, a push.
    assert cross_account(identity, statements(bucket_policy.inputs["policy"]),
                         Request(READER_ROLE, "s3:GetObject", f"{bucket_arn}/data/train/part-0.csv", https)) == IMPLICIT_DENY
    other_key = KEY_ARN.replace(KEY_ID, "ffffffff-12ab-34cd-56ef-1234567890ab")
    assert cross_account(identity, statements(key.inputs["policy"]), Request(READER_ROLE, "kms:Decrypt", other_key, s3)) == IMPLICIT_DENY
    assert cross_account(identity, statements(repo_policy.inputs["policy"]), Request(READER_ROLE, "ecr:PutImage", repo)) == IMPLICIT_DENY


def _actions(document: str):
    for statement in statements(document):
        for action in statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]:
            yield action


@pytest.mark.parametrize("service_prefix", ["s3", "kms", "ecr", "sagemaker"])
def test_every_action_granted_across_accounts_exists(training_plan, reader_plan, service_prefix):
    """Every action these policies name is an operation of the service (botocore's service
    models): a misspelt action would grant nothing and fail CreateModel at deploy time."""
    names = {"s3": "s3", "kms": "kms", "ecr": "ecr", "sagemaker": "sagemaker"}
    operations = set(botocore.session.get_session().get_service_model(names[service_prefix]).operation_names)
    documents = [r.inputs["policy"] for r in training_plan.by_type("aws:ecr/repositoryPolicy:RepositoryPolicy")]
    documents += [r.inputs["policy"] for r in training_plan.by_type("aws:kms/key:Key") if r.name == "churn-xgb-training-key"]
    documents += [_bucket_arn(training_plan, "churn-xgb-training-artifacts")[1].inputs["policy"]]
    documents += [r.inputs["resourcePolicy"] for r in training_plan.by_type("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy")]
    documents += [r.inputs["policy"] for r in reader_plan.by_type("aws:iam/rolePolicy:RolePolicy")]
    seen = [a.split(":", 1)[1] for d in documents for a in _actions(d) if a.split(":", 1)[0] == service_prefix and "*" not in a]
    assert seen, f"no {service_prefix} actions found"
    # ListModelPackages/GetObject etc. are operation names; s3:ListBucket is ListObjects' IAM action.
    iam_only = {"s3": {"ListBucket"}}.get(service_prefix, set())
    assert sorted(set(seen) - operations - iam_only) == []


# ---- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, key, words",
    [
        ({"registry": "arn:aws:sagemaker:eu-west-1:2109:model-package-group/g"}, "mlstack:models[0].source.registry", "the group's ARN"),
        ({"registry": GROUP_ARN}, "mlstack:models[0].source.artifactsKeyArn", "required key is missing"),
        ({"registry": GROUP_ARN, "artifactsKeyArn": KEY_ARN.replace(TRAINING_ACCOUNT, OTHER)}, "mlstack:models[0].source.artifactsKeyArn", "not in the registry's account"),
        ({"registry": GROUP_ARN, "artifactsKeyArn": KEY_ARN, "roleArn": f"arn:aws:iam::{OTHER}:role/x"}, "mlstack:models[0].source.roleArn", "not in the registry's account"),
        ({"registry": GROUP_ARN.replace(REGION, "us-east-1"), "artifactsKeyArn": KEY_ARN.replace(REGION, "us-east-1")}, "mlstack:models[0].source.registry", "own region only"),
        ({"registry": GROUP_ARN.replace(TRAINING_ACCOUNT, READER), "artifactsKeyArn": KEY_ARN.replace(TRAINING_ACCOUNT, READER)}, "mlstack:models[0].source.registry", "own account"),
        ({"registry": GROUP_ARN, "artifactsKeyArn": KEY_ARN, "registyr": 1}, "mlstack:models[0].source.registyr", "unknown key"),
    ],
)
def test_bad_source_is_refused_at_its_key(cli, write_stack, source, key, words):
    stack = write_stack({"mlstack:accountId": READER, "mlstack:models": [{"name": "churn-xgb", "source": source}]})
    code, out, err = cli("plan", str(stack))
    assert code == 2, (out, err)
    assert key in err and words in err, err
    assert "Traceback" not in err


def test_source_with_registry_settings_is_refused(cli, write_stack):
    model = {"name": "churn-xgb", "source": {"registry": GROUP_ARN, "artifactsKeyArn": KEY_ARN}, "registry": {"approvalMode": "automatic"}}
    code, _, err = cli("plan", str(write_stack({"mlstack:models": [model]})))
    assert code == 2 and "mlstack:models[0].registry" in err and "source.registry" in err


def test_a_card_on_a_model_from_another_accounts_registry_is_refused(cli, write_stack):
    # The card lives with the registry; here it would be silently dropped, so it is refused.
    model = {"name": "churn-xgb", "source": {"registry": GROUP_ARN, "artifactsKeyArn": KEY_ARN},
             "card": {"owner": "risk-team", "intendedUses": "churn scoring", "outOfScopeUses": "credit decisions", "riskRating": "Low",
                      "ethicalConsiderations": "none known", "caveats": "none"}}
    code, _, err = cli("plan", str(write_stack({"mlstack:models": [model]})))
    assert code == 2 and "mlstack:models[0].card" in err and "source.registry" in err, err


def test_readers_of_a_model_whose_key_or_image_the_stack_does_not_manage_are_refused(cli, tmp_path):
    prod = yaml.safe_load((ROOT / "stacks" / "Pulumi.churn-prod.yaml").read_text())["config"]
    training = prod["mlstack:models"][0]["training"]
    for change, key in (
        ({"kmsKeyArn": f"arn:aws:kms:{REGION}:{TRAINING_ACCOUNT}:key/{KEY_ID}"}, "mlstack:models[0].training.kmsKeyArn"),
        ({"inference": {**training["inference"], "image": IMAGE.replace(TRAINING_ACCOUNT, OTHER)}}, "mlstack:models[0].training.inference.image"),
    ):
        config = copy.deepcopy(prod)
        config["mlstack:models"][0]["training"].update(change)
        path = tmp_path / "Pulumi.churn-prod.yaml"
        path.write_text(yaml.safe_dump({"config": config}))
        code, _, err = cli("plan", str(path))
        assert code == 2 and key in err and "crossAccountReaders" in err, err


def test_lineage_policy_accepts_the_source_registry_only_when_the_pack_config_lists_it(reader_plan):
    """Which other accounts' registries count is the organisation's call (pack config), not the stack's."""
    from mlstack.policy.check import check_plan
    from mlstack.policy.rules import model_lineage_complete as lineage

    tags = {"mlstack:environment": "prod"}
    bare = check_plan(reader_plan, stack_tags=tags, policies=[lineage.POLICY])
    assert [v.policy for v in bare.violations] == [lineage.NAME]
    listed = {lineage.NAME: {"externalRegistries": [GROUP_ARN.replace("model-package-group/", "model-package/") + "/*"]}}
    assert check_plan(reader_plan, stack_tags=tags, policies=[lineage.POLICY], config=listed).violations == []
