"""Links between resources are real references, never ``depends_on``.

A bucket is encrypted or blocked by the configuration whose ``bucket`` input names it (the
value, or where the value is not known yet, the input's property dependency), the way AWS
applies it; a configuration that merely depends on a second bucket configures nothing there.
The same holds for every link of the pack (:data:`mlstack.policy.kit.index.LINKS`).
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from mlstack.physical_names import name_field
from mlstack.policy.kit.index import LINKS, StackIndex, _alarm_rule_alarms, _model_package_groups, _scaling_resource_endpoints

from ..cases import KMS, S3_PUBLIC
from ..graphs import Graph, baseline, tags

ARTIFACTS = "churn-xgb-training-artifacts"
ENCRYPTION = "churn-xgb-training-artifacts-encryption"
PUBLIC_ACCESS = "churn-xgb-training-artifacts-public-access"
SECOND = "churn-xgb-training-logs"
CONFIGS = {KMS: ENCRYPTION, S3_PUBLIC: PUBLIC_ACCESS}


def flagged(report, policy: str) -> set[str]:
    """Names of the resources ``policy`` reports."""
    return {v.resource_name for v in report.violations if v.policy == policy}


def with_second_bucket(env: str = "prod") -> Graph:
    """The baseline plus a second bucket that has neither encryption nor a public access block."""
    g = baseline(env)
    g.add("aws:s3/bucket:Bucket", SECOND, {"bucket": "churn-logs", "tags": tags(env, model="churn-xgb")}, parent="churn-xgb-training")
    return g


def depends_on(g: Graph, name: str, other: str) -> Graph:
    """``name`` gets ``depends_on=[other]``: a dependency with no property behind it."""
    record = g.get(name)
    record.dependencies = sorted({*record.dependencies, g.urn(other)})
    return g


def test_baseline_buckets_are_encrypted_and_blocked_through_their_bucket_input():
    report = baseline("prod").check()
    assert flagged(report, KMS) == set() and flagged(report, S3_PUBLIC) == set()


@pytest.mark.parametrize("policy", [KMS, S3_PUBLIC])
def test_a_bucket_without_configuration_is_flagged(policy):
    assert flagged(with_second_bucket().check(), policy) == {SECOND}


@pytest.mark.parametrize("policy", [KMS, S3_PUBLIC])
def test_configuration_that_only_depends_on_a_bucket_does_not_cover_it(policy):
    g = depends_on(with_second_bucket(), CONFIGS[policy], SECOND)
    assert flagged(g.check(), policy) == {SECOND}


@pytest.mark.parametrize("policy", [KMS, S3_PUBLIC])
def test_configuration_computed_from_a_bucket_but_naming_another_does_not_cover_it(policy):
    # bucket=second.id.apply(lambda _: "churn-artifacts"): the value names the first bucket,
    # which is the one AWS configures.
    g = with_second_bucket()
    g.get(CONFIGS[policy]).property_dependencies["bucket"].append(g.urn(SECOND))
    assert flagged(g.check(), policy) == {SECOND}


def test_encryption_computed_from_a_bucket_through_another_input_does_not_cover_it():
    g = with_second_bucket()
    g.get(ENCRYPTION).property_dependencies["rules"].append(g.urn(SECOND))
    assert flagged(g.check(), KMS) == {SECOND}


@pytest.mark.parametrize("policy", [KMS, S3_PUBLIC])
def test_configuration_naming_a_bucket_literally_covers_it_without_a_dependency(policy):
    g = with_second_bucket()
    g.add(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "logs-encryption",
        {**g.get(ENCRYPTION).inputs, "bucket": "churn-logs"},
        parent="churn-xgb-training",
    )
    g.add("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "logs-public-access", {**g.get(PUBLIC_ACCESS).inputs, "bucket": "churn-logs"}, parent="churn-xgb-training")
    assert flagged(g.check(), policy) == set()


@pytest.mark.parametrize("policy", [KMS, S3_PUBLIC])
def test_unknown_bucket_input_links_by_its_property_dependency_not_depends_on(policy):
    # During a preview the bucket's name and the input naming it are not known yet: what the
    # input was computed from decides, and depends_on still does not count.
    g = depends_on(with_second_bucket(), CONFIGS[policy], SECOND)
    for name in (ARTIFACTS, SECOND):
        g.get(name).inputs.pop("bucket")
    g.get(CONFIGS[policy]).inputs["bucket"] = UNKNOWN_STRING_VALUE
    assert flagged(g.check(), policy) == {SECOND}


# --- every link of the pack ------------------------------------------------------------------------

_EXTRACTED_VALUES = {
    _scaling_resource_endpoints: "endpoint/{name}/variant/AllTraffic",
    _alarm_rule_alarms: 'ALARM("{name}") OR ALARM(other-alarm)',
    _model_package_groups: "arn:aws:sagemaker:eu-west-1:210987654321:model-package/{name}/3",
}


def _resource(type_: str, name: str, props: dict[str, Any]) -> PolicyResource:
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    return PolicyResource(type_, unknown_checking_proxy(props), f"urn:pulumi:s::p::{type_}::{name}", name, options, None, None, [], {})


def _pair(user_type: str, used_type: str, *, known: bool) -> tuple[StackIndex, PolicyResource, PolicyResource, PolicyResource]:
    """(index, user, target, decoy): ``user`` names ``target`` through its linking input and
    depends on ``decoy`` (depends_on) too."""
    link = LINKS[(user_type, used_type)]
    template = _EXTRACTED_VALUES.get(link.names, "{name}")
    target = _resource(used_type, "target", {name_field(used_type): "target-name"} if known else {})
    decoy = _resource(used_type, "decoy", {name_field(used_type): "decoy-name"} if known else {})
    value = template.format(name="target-name") if known else UNKNOWN_STRING_VALUE
    user = _resource(user_type, "user", {link.inputs[0]: value})
    user.dependencies = [target, decoy]
    user.property_dependencies = {link.inputs[0]: [target]}
    return StackIndex([target, decoy, user]), user, target, decoy


@pytest.mark.parametrize("known", [True, False], ids=["names-known", "names-unknown"])
@pytest.mark.parametrize("pair", sorted(LINKS), ids=lambda p: f"{p[0].rsplit(':', 1)[-1]}->{p[1].rsplit(':', 1)[-1]}")
def test_every_link_follows_the_naming_input_and_ignores_depends_on(pair, known):
    index, user, target, decoy = _pair(*pair, known=known)
    assert index.linked(user, target)
    assert not index.linked(user, decoy)
    assert index.used_by(user, pair[1]) == [target]
    assert index.users(target, pair[0]) == [user]
    assert index.users(decoy, pair[0]) == []


@pytest.mark.parametrize("pair", sorted(LINKS), ids=lambda p: f"{p[0].rsplit(':', 1)[-1]}->{p[1].rsplit(':', 1)[-1]}")
def test_every_link_trusts_a_known_value_over_what_it_was_computed_from(pair):
    index, user, target, decoy = _pair(*pair, known=True)
    user.property_dependencies = {LINKS[pair].inputs[0]: [decoy]}
    assert index.linked(user, target) and not index.linked(user, decoy)


def test_resources_outside_the_link_table_link_by_property_dependencies_or_names_never_depends_on():
    used = _resource("aws:sqs/queue:Queue", "queue", {"name": "jobs"})
    other = _resource("aws:sqs/queue:Queue", "other", {"name": "other-jobs"})
    user = _resource("aws:lambda/eventSourceMapping:EventSourceMapping", "mapping", {"eventSourceArn": "jobs"})
    user.dependencies = [used, other]
    index = StackIndex([used, other, user])
    assert index.linked(user, used) and not index.linked(user, other)
    computed = _resource("aws:lambda/eventSourceMapping:EventSourceMapping", "computed", {"eventSourceArn": UNKNOWN_STRING_VALUE})
    computed.property_dependencies = {"eventSourceArn": [other]}
    index = StackIndex([used, other, computed])
    assert index.linked(computed, other) and not index.linked(computed, used)
