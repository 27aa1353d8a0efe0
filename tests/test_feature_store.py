"""FeatureStore: feature groups from the feature schema, encrypted stores, a scoped role, the
record JSON Schema, and the errors a bad feature schema gets."""

from __future__ import annotations

import json

import jsonschema
import pytest

from conftest import BASELINE, ROOT
from mlstack.specs.features import EVENT_TIME_PATTERN, FeatureGroupSpec
from mlstack.config import load_stack
from mlstack.engine import plan_stack
from mlstack.errors import ConfigError

COMPONENT = "mlstack:index:FeatureStore"
GROUP = "aws:sagemaker/featureGroup:FeatureGroup"
ACCOUNT = "210987654321"


@pytest.fixture(scope="module")
def prod():
    return plan_stack("churn-prod", cwd=ROOT)


def child(graph, type_: str, name: str):
    (component,) = graph.by_type(COMPONENT)
    matches = [r for r in graph.children(component.urn) if r.type == type_ and r.name == name]
    assert len(matches) == 1, name
    return matches[0]


def bucket_name(graph) -> str:
    """The offline bucket's physical name, as its settings received it (the bucket is autonamed)."""
    return child(graph, "aws:s3/bucketVersioning:BucketVersioning", "feature-store-offline-versioning").inputs["bucket"]


def store_key(graph) -> str:
    encryption = child(graph, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "feature-store-offline-encryption")
    return encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"]


def test_store_has_exactly_a_key_a_private_bucket_a_role_and_the_groups(prod):
    (component,) = prod.by_type(COMPONENT)
    assert sorted((r.type.split(":")[-1], r.name) for r in prod.children(component.urn)) == sorted(
        [
            ("Key", "feature-store-key"),
            ("Alias", "feature-store-key-alias"),
            ("Bucket", "feature-store-offline"),
            ("BucketVersioning", "feature-store-offline-versioning"),
            ("BucketServerSideEncryptionConfiguration", "feature-store-offline-encryption"),
            ("BucketPublicAccessBlock", "feature-store-offline-public-access-block"),
            ("BucketOwnershipControls", "feature-store-offline-ownership"),
            ("BucketPolicy", "feature-store-offline-policy"),
            ("Role", "feature-store-role"),
            ("RolePolicy", "feature-store-role-policy"),
            ("FeatureGroup", "feature-store-customers"),
        ]
    )


def test_feature_group_is_declared_from_the_feature_schema(prod):
    group = child(prod, GROUP, "feature-store-customers").inputs
    assert group["featureGroupName"] == "churn-customers"
    assert group["recordIdentifierFeatureName"] == "customer_id"
    assert group["eventTimeFeatureName"] == "event_time"
    assert group["featureDefinitions"] == [
        {"featureName": "customer_id", "featureType": "String"},
        {"featureName": "event_time", "featureType": "String"},
        {"featureName": "tenure_months", "featureType": "Integral"},
        {"featureName": "monthly_charges", "featureType": "Fractional"},
        {"featureName": "support_calls_90d", "featureType": "Integral"},
        {"featureName": "contract", "featureType": "String"},
        {"featureName": "churned", "featureType": "Integral"},
    ]
    assert group["description"] == "One record per subscriber, refreshed nightly"
    assert group["tags"]["mlstack:feature-group"] == "customers"
    assert group["tags"]["mlstack:team"] == "churn" and group["tags"]["mlstack:environment"] == "prod"


def test_online_and_offline_stores_are_encrypted_with_the_store_key(prod):
    group = child(prod, GROUP, "feature-store-customers").inputs
    key = store_key(prod)
    assert key.startswith(f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/")
    assert group["onlineStoreConfig"] == {"enableOnlineStore": True, "securityConfig": {"kmsKeyId": key}, "ttlDuration": {"unit": "Days", "value": 90}}
    offline = group["offlineStoreConfig"]
    assert offline["tableFormat"] == "Iceberg"
    assert offline["disableGlueTableCreation"] is False
    assert offline["s3StorageConfig"]["kmsKeyId"] == key
    bucket = bucket_name(prod)
    assert offline["s3StorageConfig"]["s3Uri"] == f"s3://{bucket}/offline-store"
    assert child(prod, "aws:kms/key:Key", "feature-store-key").inputs["enableKeyRotation"] is True


def test_offline_bucket_is_private_versioned_and_refuses_plain_http(prod):
    assert child(prod, "aws:s3/bucketVersioning:BucketVersioning", "feature-store-offline-versioning").inputs["versioningConfiguration"] == {"status": "Enabled"}
    block = child(prod, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "feature-store-offline-public-access-block").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert child(prod, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "feature-store-offline-ownership").inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    rules = child(prod, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "feature-store-offline-encryption").inputs["rules"]
    assert rules[0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms" and rules[0]["bucketKeyEnabled"] is True
    policy = json.loads(child(prod, "aws:s3/bucketPolicy:BucketPolicy", "feature-store-offline-policy").inputs["policy"])
    deny = {s["Sid"]: s for s in policy["Statement"]}["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_role_is_scoped_to_the_bucket_the_key_and_the_glue_database(prod):
    role = child(prod, "aws:iam/role:Role", "feature-store-role").inputs
    trust = json.loads(role["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    policy = json.loads(child(prod, "aws:iam/rolePolicy:RolePolicy", "feature-store-role-policy").inputs["policy"])
    bucket = bucket_name(prod)
    resources = {s["Sid"]: s["Resource"] for s in policy["Statement"]}
    assert resources["OfflineStoreBucket"] == f"arn:aws:s3:::{bucket}"
    assert resources["OfflineStoreObjects"] == f"arn:aws:s3:::{bucket}/*"
    assert resources["StoreKey"] == store_key(prod)
    glue = f"arn:aws:glue:eu-west-1:{ACCOUNT}"
    assert resources["IcebergTablesInGlue"] == [f"{glue}:catalog", f"{glue}:database/sagemaker_featurestore", f"{glue}:table/sagemaker_featurestore/*"]
    assert "*" not in json.dumps(list(resources.values())).replace("/*", "")
    group = child(prod, GROUP, "feature-store-customers")
    assert role_urn(prod) in group.dependencies


def role_urn(graph) -> str:
    return child(graph, "aws:iam/rolePolicy:RolePolicy", "feature-store-role-policy").urn


def test_outputs_name_every_feature_group(prod):
    assert prod.outputs["featureGroups"] == {
        "customers": {"featureGroupName": "churn-customers", "arn": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:feature-group/churn-customers"}
    }


# --- the record JSON Schema ---------------------------------------------------------------------


def prod_group() -> FeatureGroupSpec:
    (group,) = load_stack("churn-prod", cwd=ROOT).spec.feature_groups
    return group


def test_record_schema_follows_the_feature_schema():
    schema = prod_group().record_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["customer_id", "event_time", "tenure_months", "monthly_charges", "contract"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["customer_id"] == {"type": "string", "pattern": "^C[0-9]{8}$", "description": "Subscriber id"}
    assert props["event_time"]["pattern"] == EVENT_TIME_PATTERN
    assert props["tenure_months"] == {"type": "integer", "minimum": 0, "maximum": 600}
    assert props["support_calls_90d"] == {"type": ["integer", "null"], "minimum": 0, "maximum": 2**63 - 1}
    assert props["monthly_charges"] == {"type": "number", "minimum": 0, "maximum": 10000}
    assert props["contract"] == {"type": "string", "enum": ["monthly", "yearly", "two-year"]}
    assert props["churned"]["enum"] == [0, 1, None]


@pytest.mark.parametrize(
    "record, valid",
    [
        ({"customer_id": "C00000001", "event_time": "2026-11-01T08:00:00Z", "tenure_months": 1, "monthly_charges": 9.5, "contract": "monthly"}, True),
        ({"customer_id": "C00000001", "event_time": "2026-11-01T08:00:00.250Z", "tenure_months": 1, "monthly_charges": 9, "contract": "yearly", "churned": None}, True),
        ({"customer_id": "C00000001", "event_time": "2026-11-01T08:00:00+01:00", "tenure_months": 1, "monthly_charges": 9.5, "contract": "monthly"}, False),
        ({"customer_id": "C00000001", "event_time": "2026-11-01T08:00:00Z", "tenure_months": 1, "monthly_charges": 9.5, "contract": "monthly", "extra": 1}, False),
        ({"customer_id": "C00000001", "event_time": "2026-11-01T08:00:00Z", "tenure_months": True, "monthly_charges": 9.5, "contract": "monthly"}, False),
    ],
)
def test_record_schema_accepts_what_sagemaker_accepts(record, valid):
    errors = list(jsonschema.Draft202012Validator(prod_group().record_json_schema()).iter_errors(record))
    assert (not errors) is valid, errors


# --- bad feature schemas ----------------------------------------------------------------------


def group(**changes):
    base = {
        "name": "customers",
        "recordIdentifier": "customer_id",
        "eventTime": "event_time",
        "features": [
            {"name": "customer_id", "type": "String"},
            {"name": "event_time", "type": "String"},
            {"name": "active", "type": "Integral"},
        ],
    }
    base.update(changes)
    return base


def problems(write_stack, *groups) -> list:
    with pytest.raises(ConfigError) as info:
        load_stack(write_stack({"mlstack:featureGroups": list(groups)}))
    return info.value.problems


def test_rejects_a_feature_type_sagemaker_does_not_support(write_stack):
    features = group()["features"][:2] + [{"name": "active", "type": "boolean"}]
    (problem,) = problems(write_stack, group(features=features))
    assert problem.path == "mlstack:featureGroups[0].features[2].type"
    assert "feature type 'boolean' is not supported by SageMaker Feature Store, which knows Integral, Fractional and String" in problem.message
    assert "store booleans as Integral 0/1" in problem.message


def test_a_miscased_feature_type_gets_its_spelling(write_stack):
    features = group()["features"][:2] + [{"name": "active", "type": "integral"}]
    (problem,) = problems(write_stack, group(features=features))
    assert "is spelt 'Integral'" in problem.message


def test_rejects_identifier_or_event_time_that_is_not_a_feature(write_stack):
    (problem,) = problems(write_stack, group(eventTime="event_tme"))
    assert problem.path == "mlstack:featureGroups[0]"
    assert "eventTime 'event_tme' is not one of the features; did you mean 'event_time'?" in problem.message


def test_rejects_integral_event_time_and_constraints_of_the_wrong_type(write_stack):
    features = [
        {"name": "customer_id", "type": "String", "minimum": 1},
        {"name": "event_time", "type": "Integral"},
    ]
    (problem,) = problems(write_stack, group(features=features))
    assert "minimum and maximum apply to Integral and Fractional features, not String" in problem.message


def test_rejects_reserved_feature_names(write_stack):
    features = group()["features"][:2] + [{"name": "write_time", "type": "String"}]
    (problem,) = problems(write_stack, group(features=features))
    assert "feature name 'write_time' is reserved by SageMaker" in problem.message


def test_rejects_a_group_declared_twice(write_stack):
    (problem,) = problems(write_stack, group(), group())
    assert problem.path == "mlstack:featureGroups[1].name"
    assert "feature group 'customers' is declared more than once" in problem.message


def test_rejects_training_on_an_undeclared_feature_group(write_stack):
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1"
    training = {
        "featureGroup": "orders",
        "preprocess": {"image": image},
        "train": {"image": image, "instanceType": "ml.m5.xlarge"},
        "evaluation": {"image": image, "metrics": ["accuracy"]},
        "inference": {"image": image},
    }
    model = {**BASELINE["mlstack:models"][0], "training": training}
    with pytest.raises(ConfigError) as info:
        load_stack(write_stack({"mlstack:featureGroups": [group()], "mlstack:models": [model]}))
    (problem,) = info.value.problems
    assert problem.path == "mlstack:models[0].training.featureGroup"
    assert "feature group 'orders' is not declared in mlstack:featureGroups (declared: customers)" in problem.message


def test_cli_plan_exits_2_on_unsupported_feature_type(write_stack, cli):
    features = group()["features"][:2] + [{"name": "signup", "type": "timestamp"}]
    code, _, err = cli("plan", str(write_stack({"mlstack:featureGroups": [group(features=features)]})))
    assert code == 2
    assert "feature type 'timestamp' is not supported by SageMaker Feature Store" in err and "Traceback" not in err
