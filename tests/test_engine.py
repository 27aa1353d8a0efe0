"""The offline plan engine: engine-form URNs, parents, dependencies, isolation, no network."""

from __future__ import annotations

import json
import socket

import pytest

from mlstack.engine import plan_stack, run_program
from mlstack.lookups import OfflineAnswers, latest_approved_model_package

REGISTRY = "mlstack:index:ModelRegistry"
GROUP = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
POLICY = "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy"


def test_urns_are_in_the_engine_form(plan):
    graph = plan("churn-prod")
    registry = graph.by_type(REGISTRY)[0]
    group = graph.by_type(GROUP)[0]
    # Children of the root stack carry no Stack type; children of components chain types with $.
    assert registry.urn == "urn:pulumi:churn-prod::mlstack::mlstack:index:ModelRegistry::churn-xgb"
    assert group.urn == f"urn:pulumi:churn-prod::mlstack::{REGISTRY}${GROUP}::churn-xgb-group"
    assert registry.parent is None
    assert group.parent == registry.urn


def test_records_dependencies_and_inputs_camel_case(plan):
    graph = plan("churn-prod")
    group = graph.by_type(GROUP)[0]
    policy = graph.by_type(POLICY)[0]
    assert group.urn in policy.dependencies
    assert group.inputs["modelPackageGroupName"] == "churn-churn-xgb"
    assert policy.property_dependencies["resourcePolicy"] == [group.urn]


def test_plans_in_one_process_do_not_leak_state(plan):
    first = json.dumps(plan("churn-dev").to_json(), sort_keys=True)
    prod = plan("churn-prod")
    again = json.dumps(plan("churn-dev").to_json(), sort_keys=True)
    assert first == again
    assert prod.stack == "churn-prod" and len(prod.by_type(POLICY)) == 1
    assert '"churn-prod"' not in first


def test_config_of_one_run_is_invisible_to_the_next():
    import pulumi

    seen = []

    def program():
        seen.append(pulumi.Config("demo").get("key"))

    answers = OfflineAnswers()
    run_program(program, project="demo", stack="a", config={"demo:key": "one"}, answers=answers)
    run_program(program, project="demo", stack="b", config={}, answers=answers)
    assert seen == ["one", None]


def test_account_and_region_lookups_are_answered_from_config(plan):
    graph = plan("churn-prod")
    assert graph.outputs["registries"]["churn-xgb"]["arn"] == (
        "arn:aws:sagemaker:eu-west-1:210987654321:model-package-group/churn-churn-xgb"
    )


def test_default_account_is_documented_default(plan):
    graph = plan("churn-dev")
    assert ":123456789012:" in graph.outputs["registries"]["churn-xgb"]["arn"]


def test_latest_approved_lookup_is_answered_offline():
    import pulumi

    got = []

    def program():
        got.append(latest_approved_model_package("churn-churn-xgb"))

    answers = OfflineAnswers(account_id="210987654321", region="eu-west-1", approved_versions={"churn-churn-xgb": 7})
    run_program(program, project="p", stack="s", config={}, answers=answers)
    assert got == ["arn:aws:sagemaker:eu-west-1:210987654321:model-package/churn-churn-xgb/7"]
    del pulumi


def test_plans_without_network(plan, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the offline engine opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    assert len(plan("churn-prod")) > 0 and plan("churn-prod").by_type(GROUP)


def test_unanswered_lookup_is_a_clear_error():
    import pulumi_aws as aws

    def program():
        aws.ec2.get_vpc(default=True)

    with pytest.raises(Exception, match="offline engine has no answer for the lookup 'aws:ec2/getVpc:getVpc'"):
        run_program(program, project="p", stack="s", config={}, answers=OfflineAnswers())


def test_account_guard_stops_a_deployment_to_another_account(plan, write_stack):
    import pulumi

    from mlstack.engine import answers_for
    from mlstack.config import load_stack
    from mlstack.program import main

    stack = load_stack(write_stack({"mlstack:accountId": "111111111111"}))
    wrong = OfflineAnswers(account_id="222222222222", region=stack.region)
    with pytest.raises(pulumi.RunError, match="must deploy to account 111111111111 .* belong to 222222222222"):
        run_program(main, project="mlstack", stack=stack.stack, config=stack.pulumi_config(), answers=wrong)
    assert answers_for(stack).account_id == "111111111111"


def test_python_stack_runs_its_own_program(plan):
    from conftest import ROOT

    graph = plan(ROOT / "examples/fraud-python/Pulumi.fraud-dev.yaml")
    names = sorted(r.name for r in graph.by_type(REGISTRY))
    assert names == ["fraud-gbm", "fraud-gbm-v2", "fraud-tabnet"]
    challenger = next(r for r in graph.by_type(GROUP) if r.name == "fraud-tabnet-group")
    assert challenger.inputs["tags"]["fraud:role"] == "challenger"
    assert challenger.inputs["tags"]["mlstack:team"] == "fraud"


def test_stack_file_outside_a_project_runs_the_declarative_program(write_stack):
    graph = plan_stack(write_stack())
    assert [r.type for r in graph] == [REGISTRY, GROUP]
    assert graph.project == "mlstack"


# --- ARNs, ids and names as the AWS provider reports them -----------------------------------------
# Each case names the terraform-provider-aws source read (internal/service/...) for the id the
# provider sets (d.SetId) and the arn it keeps in state; the ARN formats are those the AWS APIs
# return (as moto emulates them).

from mlstack.engine.cloud import OfflineCloud  # noqa: E402

_ACCOUNT, _REGION = "210987654321", "eu-west-1"
_URN = "urn:pulumi:s::p::{type}::{name}"


def _outputs(type_: str, name: str, inputs: dict, *, region: str = _REGION, partition: str = "aws") -> tuple[str, dict]:
    cloud = OfflineCloud(OfflineAnswers(account_id=_ACCOUNT, region=region, partition=partition))
    return cloud.outputs(type_, name, _URN.format(type=type_, name=name), dict(inputs), True)


@pytest.mark.parametrize(
    "source, type_, inputs, want_id, want",
    [
        ("logs/group.go: arn trimmed of the API's ':*', id = name", "aws:cloudwatch/logGroup:LogGroup", {"name": "/aws/lambda/fn"},
         "/aws/lambda/fn", {"arn": "arn:aws:logs:eu-west-1:210987654321:log-group:/aws/lambda/fn"}),
        ("lambda/function.go: id = function name; arn, invoke_arn, qualified_arn, version, logging_config from GetFunction",
         "aws:lambda/function:Function", {"name": "fn"}, "fn",
         {"arn": "arn:aws:lambda:eu-west-1:210987654321:function:fn",
          "invokeArn": "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:210987654321:function:fn/invocations",
          "version": "$LATEST", "qualifiedArn": "arn:aws:lambda:eu-west-1:210987654321:function:fn:$LATEST",
          "loggingConfig": {"logFormat": "Text", "logGroup": "/aws/lambda/fn"}}),
        ("sns/topic.go: id = the topic ARN", "aws:sns/topic:Topic", {"name": "alerts"},
         "arn:aws:sns:eu-west-1:210987654321:alerts", {"arn": "arn:aws:sns:eu-west-1:210987654321:alerts", "name": "alerts"}),
        ("sqs/queue.go: id = the queue URL", "aws:sqs/queue:Queue", {"name": "jobs"},
         "https://sqs.eu-west-1.amazonaws.com/210987654321/jobs",
         {"arn": "arn:aws:sqs:eu-west-1:210987654321:jobs", "url": "https://sqs.eu-west-1.amazonaws.com/210987654321/jobs"}),
        ("cloudwatch/metric_alarm.go: id = alarm name", "aws:cloudwatch/metricAlarm:MetricAlarm", {"name": "errors"},
         "errors", {"arn": "arn:aws:cloudwatch:eu-west-1:210987654321:alarm:errors"}),
        ("cloudwatch/composite_alarm.go: id = alarm_name", "aws:cloudwatch/compositeAlarm:CompositeAlarm", {"alarmName": "any"},
         "any", {"arn": "arn:aws:cloudwatch:eu-west-1:210987654321:alarm:any"}),
        ("cloudwatch/dashboard.go: dashboard_arn (no arn), id = name", "aws:cloudwatch/dashboard:Dashboard", {"dashboardName": "ops"},
         "ops", {"dashboardArn": "arn:aws:cloudwatch::210987654321:dashboard/ops"}),
        ("events/rule.go: id = name on the default bus", "aws:cloudwatch/eventRule:EventRule", {"name": "nightly"},
         "nightly", {"arn": "arn:aws:events:eu-west-1:210987654321:rule/nightly"}),
        ("events/rule.go: id = bus/name on another bus", "aws:cloudwatch/eventRule:EventRule", {"name": "nightly", "eventBusName": "ml"},
         "ml/nightly", {"arn": "arn:aws:events:eu-west-1:210987654321:rule/ml/nightly"}),
        ("scheduler/schedule.go: id = group/name", "aws:scheduler/schedule:Schedule", {"name": "retrain"},
         "default/retrain", {"arn": "arn:aws:scheduler:eu-west-1:210987654321:schedule/default/retrain"}),
        ("iam/role.go: arn from GetRole, with the role's path", "aws:iam/role:Role", {"name": "job", "path": "/ml/"},
         "job", {"arn": "arn:aws:iam::210987654321:role/ml/job"}),
        ("iam/role.go: default path /", "aws:iam/role:Role", {"name": "job"}, "job", {"arn": "arn:aws:iam::210987654321:role/job"}),
        ("kms/alias.go: id = alias name; target_key_arn", "aws:kms/alias:Alias",
         {"name": "alias/ml", "targetKeyId": "0b7e4f0c-5b8f-4c52-9d0b-8f3b6a1e2c4d"}, "alias/ml",
         {"arn": "arn:aws:kms:eu-west-1:210987654321:alias/ml",
          "targetKeyArn": "arn:aws:kms:eu-west-1:210987654321:key/0b7e4f0c-5b8f-4c52-9d0b-8f3b6a1e2c4d"}),
        ("sagemaker/endpoint_configuration.go: id = name", "aws:sagemaker/endpointConfiguration:EndpointConfiguration", {"name": "cfg"},
         "cfg", {"arn": "arn:aws:sagemaker:eu-west-1:210987654321:endpoint-config/cfg"}),
        ("sagemaker/endpoint.go: id = name", "aws:sagemaker/endpoint:Endpoint", {"name": "ep"},
         "ep", {"arn": "arn:aws:sagemaker:eu-west-1:210987654321:endpoint/ep"}),
        ("sagemaker/model.go: id = name", "aws:sagemaker/model:Model", {"name": "m"}, "m", {"arn": "arn:aws:sagemaker:eu-west-1:210987654321:model/m"}),
        ("sagemaker/model_package_group.go: id = group name", "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
         {"modelPackageGroupName": "g"}, "g", {"arn": "arn:aws:sagemaker:eu-west-1:210987654321:model-package-group/g"}),
        ("sagemaker/pipeline.go: id = pipeline name", "aws:sagemaker/pipeline:Pipeline", {"pipelineName": "p"},
         "p", {"arn": "arn:aws:sagemaker:eu-west-1:210987654321:pipeline/p"}),
        ("sagemaker/feature_group.go: id = feature group name", "aws:sagemaker/featureGroup:FeatureGroup", {"featureGroupName": "f"},
         "f", {"arn": "arn:aws:sagemaker:eu-west-1:210987654321:feature-group/f"}),
        ("appautoscaling/target.go: id = resource_id", "aws:appautoscaling/target:Target",
         {"resourceId": "endpoint/ep/variant/AllTraffic", "serviceNamespace": "sagemaker"}, "endpoint/ep/variant/AllTraffic", {}),
        ("s3/bucket.go: id = bucket name", "aws:s3/bucket:Bucket", {"bucket": "data"}, "data", {"arn": "arn:aws:s3:::data"}),
        ("s3/bucket_server_side_encryption_configuration.go: id = CreateResourceID(bucket, expected owner)",
         "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", {"bucket": "data"}, "data", {}),
    ],
)  # fmt: skip
def test_offline_ids_and_arns_are_the_providers(source, type_, inputs, want_id, want):
    resource_id, state = _outputs(type_, "r", inputs)
    assert resource_id == want_id and state["id"] == want_id, source
    assert {k: state.get(k) for k in want} == want, source


def test_arns_the_provider_reports_only_as_generated_ids_have_their_form():
    _, target = _outputs("aws:appautoscaling/target:Target", "t", {"resourceId": "endpoint/ep/variant/v", "serviceNamespace": "sagemaker"})
    assert target["arn"].startswith("arn:aws:application-autoscaling:eu-west-1:210987654321:scalable-target/")
    _, policy = _outputs("aws:appautoscaling/policy:Policy", "p", {"name": "scale", "resourceId": "endpoint/ep/variant/v", "serviceNamespace": "sagemaker"})
    assert policy["id"] == "scale"
    assert policy["arn"].startswith("arn:aws:autoscaling:eu-west-1:210987654321:scalingPolicy:")
    assert policy["arn"].endswith(":resource/sagemaker/endpoint/ep/variant/v:policyName/scale")
    topic = "arn:aws:sns:eu-west-1:210987654321:alerts"
    sub_id, sub = _outputs("aws:sns/topicSubscription:TopicSubscription", "s", {"topic": topic, "protocol": "email", "endpoint": "a@b.c"})
    assert sub_id == sub["arn"] and sub["arn"].startswith(topic + ":") and "name" not in sub  # sns/topic_subscription.go


def test_resources_without_a_name_get_none_invented():
    for type_ in ("aws:kms/key:Key", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:sns/topicSubscription:TopicSubscription"):
        _, state = _outputs(type_, "x", {"bucket": "data"} if "s3" in type_ else {})
        assert "name" not in state, type_
    key_id, key = _outputs("aws:kms/key:Key", "k", {})
    assert key["keyId"] == key_id and key["arn"] == f"arn:aws:kms:eu-west-1:210987654321:key/{key_id}"


def test_arns_are_in_the_stacks_partition():
    _, group = _outputs("aws:cloudwatch/logGroup:LogGroup", "g", {"name": "/aws/lambda/fn"}, region="cn-north-1", partition="aws-cn")
    assert group["arn"] == "arn:aws-cn:logs:cn-north-1:210987654321:log-group:/aws/lambda/fn"
    queue_id, _ = _outputs("aws:sqs/queue:Queue", "q", {"name": "jobs"}, region="cn-north-1", partition="aws-cn")
    assert queue_id == "https://sqs.cn-north-1.amazonaws.com.cn/210987654321/jobs"


def test_lambda_log_group_grant_names_the_log_group_as_deployed(plan):
    # The baseline Lambda may write its own log streams: the grant must name the log group's real
    # ARN (arn:aws:logs:...:log-group:<name>:*), not a cloudwatch ARN no log group has.
    graph = plan("churn-prod")
    [group] = [r for r in graph.resources if r.type == "aws:cloudwatch/logGroup:LogGroup"]
    [policy] = [r for r in graph.resources if r.name.endswith("-baseline-policy")]
    statements = {s.get("Sid"): s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["WriteOwnLogs"]["Resource"] == f"arn:aws:logs:eu-west-1:210987654321:log-group:{group.inputs['name']}:*"
