"""The offline cloud: what the mock runtime answers for resources and invokes.

Outputs echo the inputs plus the attributes a provider computes that mlstack's programs read
(physical names, ARNs, ids). Every id is non-empty and every ARN present: an empty id or a
missing output would make dependent ``apply`` callbacks silently never run.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from ..lookups import OfflineAnswers
from ..physical_names import has_physical_name, name_field
from ..stack_aws import dns_suffix

__all__ = ["OfflineCloud", "UnansweredInvoke", "ARN_TEMPLATES", "ID_TEMPLATES"]

#: ARN templates per resource type, as the AWS provider reports ``arn`` in state (sources in
#: terraform-provider-aws, ``internal/service/<service>/``; the formats the AWS APIs return, as
#: moto emulates them). Fields: partition, region, account, name (physical name), id (resource
#: id), path (IAM, default ``/``), bus (EventBridge: ``""`` on the default bus, ``<bus>/``
#: otherwise), group (Scheduler group, default ``default``), uid and uuid (stable generated ids), and
#: any input by its camelCase name.
ARN_TEMPLATES: dict[str, str] = {
    "aws:s3/bucket:Bucket": "arn:{partition}:s3:::{name}",
    "aws:s3/bucketV2:BucketV2": "arn:{partition}:s3:::{name}",
    "aws:iam/role:Role": "arn:{partition}:iam::{account}:role{path}{name}",
    "aws:iam/policy:Policy": "arn:{partition}:iam::{account}:policy{path}{name}",
    "aws:iam/user:User": "arn:{partition}:iam::{account}:user{path}{name}",
    "aws:iam/instanceProfile:InstanceProfile": "arn:{partition}:iam::{account}:instance-profile{path}{name}",
    "aws:sns/topic:Topic": "arn:{partition}:sns:{region}:{account}:{name}",
    "aws:sns/topicSubscription:TopicSubscription": "{topic}:{uuid}",
    "aws:sqs/queue:Queue": "arn:{partition}:sqs:{region}:{account}:{name}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}",
    "aws:cloudwatch/eventRule:EventRule": "arn:{partition}:events:{region}:{account}:rule/{bus}{name}",
    # logs/group.go: the API's log group ARN ends in ":*"; the provider trims it before state.
    "aws:cloudwatch/logGroup:LogGroup": "arn:{partition}:logs:{region}:{account}:log-group:{name}",
    "aws:kms/key:Key": "arn:{partition}:kms:{region}:{account}:key/{id}",
    "aws:kms/alias:Alias": "arn:{partition}:kms:{region}:{account}:{name}",
    "aws:lambda/function:Function": "arn:{partition}:lambda:{region}:{account}:function:{name}",
    "aws:scheduler/schedule:Schedule": "arn:{partition}:scheduler:{region}:{account}:schedule/{group}/{name}",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": "arn:{partition}:sagemaker:{region}:{account}:endpoint-config/{name}",
    "aws:appautoscaling/target:Target": "arn:{partition}:application-autoscaling:{region}:{account}:scalable-target/{uid}",
    "aws:appautoscaling/policy:Policy": (
        "arn:{partition}:autoscaling:{region}:{account}:scalingPolicy:{uuid}:resource/{serviceNamespace}/{resourceId}:policyName/{name}"
    ),
}

#: Resource ids that are not the physical name (the provider's ``d.SetId``).
ID_TEMPLATES: dict[str, str] = {
    "aws:sns/topic:Topic": "{arn}",  # sns/topic.go: the topic ARN
    "aws:sns/topicSubscription:TopicSubscription": "{arn}",  # sns/topic_subscription.go: the subscription ARN
    "aws:sqs/queue:Queue": "https://sqs.{region}.{dns_suffix}/{account}/{name}",  # sqs/queue.go: the queue URL
    "aws:iam/policy:Policy": "{arn}",
    "aws:scheduler/schedule:Schedule": "{group}/{name}",  # scheduler/schedule.go: group/name
    "aws:cloudwatch/eventRule:EventRule": "{bus}{name}",  # events/rule.go: name, or bus/name off the default bus
    "aws:appautoscaling/target:Target": "{resourceId}",  # appautoscaling/target.go: the resource id
    "aws:kms/key:Key": "{uuid}",  # the key id
    "aws:sns/topicPolicy:TopicPolicy": "{arn}",  # the topic's ARN (its input)
    "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy": "{modelPackageGroupName}",
}

#: Types whose ARN is in another output than ``arn``.
_ARN_OUTPUT = {"aws:cloudwatch/dashboard:Dashboard": "dashboardArn"}
_DASHBOARD_ARN = "arn:{partition}:cloudwatch::{account}:dashboard/{name}"


class UnansweredInvoke(RuntimeError):
    """A program made a cloud lookup the offline engine has no answer for."""


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class OfflineCloud(Mocks):
    """Mocks that play AWS for one offline run."""

    def __init__(self, answers: OfflineAnswers) -> None:
        self.answers = answers

    # The monitor calls this with the URN so physical names are stable across runs.
    def outputs(self, type_: str, name: str, urn: str, inputs: dict[str, Any], custom: bool) -> tuple[str, dict]:
        if not custom:
            return "", {}
        digest = hashlib.sha256(urn.encode()).hexdigest()
        state = dict(inputs)
        field = name_field(type_)
        physical = state.get(field)
        if not isinstance(physical, str) or not physical:
            physical = f"{name}-{digest[:7]}"
            if has_physical_name(type_):
                state[field] = physical  # the provider autonames it
        if not type_.startswith("aws:"):
            state.setdefault("id", physical)
            return physical, state
        values = self._values(type_, physical, state, digest)
        id_template = ID_TEMPLATES.get(type_)
        resource_id = None if id_template == "{arn}" else (_format(id_template, values) or _bucket_config_id(type_, state) or physical)
        values["id"] = resource_id or physical
        if type_ == "aws:kms/key:Key":
            state["keyId"] = resource_id
        if type_ in _ARN_OUTPUT:
            state.setdefault(_ARN_OUTPUT[type_], _format(_DASHBOARD_ARN, values))
        else:
            state.setdefault("arn", self._arn(type_, values))
        if resource_id is None:
            resource_id = state["arn"]  # the ARN is the id (for a topic policy: its topic's)
        _computed(type_, state, values, self.answers)
        if "tags" in state:
            state.setdefault("tagsAll", state["tags"])
        state.setdefault("id", resource_id)
        if type_ == "aws:sagemaker/featureGroup:FeatureGroup":
            _resolve_offline_store(state, self.answers, digest)
        return resource_id, state

    def _values(self, type_: str, physical: str, state: dict[str, Any], digest: str) -> dict[str, Any]:
        a = self.answers
        values: dict[str, Any] = {k: v for k, v in state.items() if isinstance(v, str)}
        bus = state.get("eventBusName")
        values.update(
            partition=a.partition,
            region=a.region,
            account=a.account_id,
            dns_suffix=dns_suffix(a.region),
            name=physical,
            path=state.get("path") if isinstance(state.get("path"), str) and state.get("path") else "/",
            bus="" if not isinstance(bus, str) or bus in ("", "default") else f"{bus}/",
            group=state.get("groupName") if isinstance(state.get("groupName"), str) and state.get("groupName") else "default",
            uid=digest[:36],
            uuid=str(uuid.UUID(digest[:32])),
        )
        return values

    def _arn(self, type_: str, values: dict[str, Any]) -> str:
        template = ARN_TEMPLATES.get(type_)
        if template is None:
            # Other types: the common form arn:<partition>:<service>:<region>:<account>:<kind>/<name>.
            module_path = type_.split(":")[1]  # e.g. "sagemaker/endpoint"
            service, _, resource = module_path.partition("/")
            template = f"arn:{{partition}}:{service}:{{region}}:{{account}}:{_kebab(resource)}/{{name}}"
        return _format(template, values) or ""

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        # Only reached for ReadResource (resource.get); registrations go through outputs().
        return args.resource_id or f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> tuple[dict, list]:
        a = self.answers
        token = args.token
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": a.account_id,
                "arn": f"arn:{a.partition}:iam::{a.account_id}:user/mlstack-offline",
                "userId": "MLSTACKOFFLINE",
                "id": a.account_id,
            }, []
        if token == "aws:index/getRegion:getRegion":
            return {"name": a.region, "region": a.region, "id": a.region, "endpoint": f"ec2.{a.region}.{dns_suffix(a.region)}", "description": a.region}, []
        if token == "aws:index/getPartition:getPartition":
            suffix = dns_suffix(a.region)
            return {"partition": a.partition, "dnsSuffix": suffix, "id": a.partition, "reverseDnsPrefix": ".".join(reversed(suffix.split(".")))}, []
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            document = policy_document(args.args.get("statements") or [])
            return {"json": document, "minifiedJson": document, "id": hashlib.sha256(document.encode()).hexdigest()[:8]}, []
        raise UnansweredInvoke(
            f"the offline engine has no answer for the lookup {token!r}; "
            "answer it from the stack config (see mlstack.lookups) instead of calling AWS at plan time"
        )


def _format(template: str | None, values: dict[str, Any]) -> str | None:
    if template is None:
        return None
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return None  # an input the template needs is not known offline


def _bucket_config_id(type_: str, state: dict[str, Any]) -> str | None:
    """s3's CreateResourceID(bucket, expectedBucketOwner) for a bucket's configurations."""
    if not type_.startswith("aws:s3/bucket") or type_ in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"):
        return None
    bucket = state.get("bucket")
    if not isinstance(bucket, str) or not bucket:
        return None
    owner = state.get("expectedBucketOwner")
    return f"{bucket},{owner}" if isinstance(owner, str) and owner else bucket


def _computed(type_: str, state: dict[str, Any], values: dict[str, Any], answers: OfflineAnswers) -> None:
    """Attributes the provider computes that a program may read, besides ids and ARNs."""
    if type_ == "aws:lambda/function:Function":
        # lambda/function.go: invoke_arn is API Gateway's path to the function; the function logs to
        # /aws/lambda/<name> in Text unless logging_config says otherwise (the API reports both).
        arn = state["arn"]
        state.setdefault("invokeArn", f"arn:{answers.partition}:apigateway:{answers.region}:lambda:path/2015-03-31/functions/{arn}/invocations")
        version = "1" if state.get("publish") is True else "$LATEST"
        state.setdefault("version", version)
        state.setdefault("qualifiedArn", f"{arn}:{version}")
        state.setdefault("qualifiedInvokeArn", f"arn:{answers.partition}:apigateway:{answers.region}:lambda:path/2015-03-31/functions/{arn}:{version}/invocations")
        logging = dict(state.get("loggingConfig") or {})
        logging.setdefault("logFormat", "Text")
        logging.setdefault("logGroup", f"/aws/lambda/{values['name']}")
        state["loggingConfig"] = logging
    elif type_ == "aws:sqs/queue:Queue":
        state.setdefault("url", _format(ID_TEMPLATES[type_], values))
    elif type_ == "aws:kms/alias:Alias":
        target = state.get("targetKeyId")
        if isinstance(target, str) and target:
            state.setdefault(
                "targetKeyArn", target if target.startswith("arn:") else f"arn:{answers.partition}:kms:{answers.region}:{answers.account_id}:key/{target}"
            )


def _resolve_offline_store(state: dict[str, Any], answers: OfflineAnswers, digest: str) -> None:
    """SageMaker computes where a feature group's offline store lands under its S3 URI."""
    s3 = ((state.get("offlineStoreConfig") or {}).get("s3StorageConfig")) or {}
    if isinstance(s3.get("s3Uri"), str) and not s3.get("resolvedOutputS3Uri"):
        created = 1_700_000_000 + int(digest[:6], 16)  # a stable stand-in for the creation time
        name = state.get("featureGroupName")
        s3["resolvedOutputS3Uri"] = (
            f"{s3['s3Uri'].rstrip('/')}/{answers.account_id}/sagemaker/{answers.region}/offline-store/{name}-{created}/data"
        )


def policy_document(statements: list[dict]) -> str:
    """Render aws.iam.get_policy_document statements as IAM JSON, as the provider does."""

    def one(values):
        values = list(values or [])
        return values[0] if len(values) == 1 else values

    rendered = []
    for s in statements:
        out: dict[str, Any] = {}
        if s.get("sid"):
            out["Sid"] = s["sid"]
        out["Effect"] = s.get("effect", "Allow")
        for key, name in (("actions", "Action"), ("notActions", "NotAction"), ("resources", "Resource"), ("notResources", "NotResource")):
            if s.get(key):
                out[name] = one(s[key])
        for key, name in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            if s.get(key):
                out[name] = {p["type"]: one(p["identifiers"]) for p in s[key]}
        if s.get("conditions"):
            cond: dict[str, dict] = {}
            for c in s["conditions"]:
                cond.setdefault(c["test"], {})[c["variable"]] = one(c["values"])
            out["Condition"] = cond
        rendered.append(out)
    return json.dumps({"Version": "2012-10-17", "Statement": rendered})
