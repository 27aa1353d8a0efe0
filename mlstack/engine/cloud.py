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
from ..physical_names import name_field
from ..stack_aws import dns_suffix

__all__ = ["OfflineCloud", "UnansweredInvoke"]

# Resources whose name input is not autonamed by the provider: leave them alone if absent.
_NO_NAME = {"aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy"}

_ARN_TEMPLATES = {
    "s3": "arn:{partition}:s3:::{name}",
    "iam": "arn:{partition}:iam::{account}:{kind}/{name}",
    "sns": "arn:{partition}:sns:{region}:{account}:{name}",
    "sqs": "arn:{partition}:sqs:{region}:{account}:{name}",
    "cloudwatch/metricAlarm": "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}",
    "cloudwatch/compositeAlarm": "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}",
    "cloudwatch/dashboard": "arn:{partition}:cloudwatch::{account}:dashboard/{name}",
    "cloudwatch/eventRule": "arn:{partition}:events:{region}:{account}:rule/{name}",
    "kms/key": "arn:{partition}:kms:{region}:{account}:key/{id}",
    "kms/alias": "arn:{partition}:kms:{region}:{account}:{name}",
    "sagemaker/endpointConfiguration": "arn:{partition}:sagemaker:{region}:{account}:endpoint-config/{name}",
    "lambda/function": "arn:{partition}:lambda:{region}:{account}:function:{name}",
    "scheduler/schedule": "arn:{partition}:scheduler:{region}:{account}:schedule/default/{name}",
    "logs/logGroup": "arn:{partition}:logs:{region}:{account}:log-group:{name}",
}


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
            if type_ not in _NO_NAME:
                state[field] = physical
        resource_id = physical
        if type_ == "aws:kms/key:Key":
            resource_id = str(uuid.UUID(digest[:32]))
            state["keyId"] = resource_id
        if type_.startswith("aws:"):
            state.setdefault("arn", self._arn(type_, physical, resource_id))
            if "tags" in state:
                state.setdefault("tagsAll", state["tags"])
        state.setdefault("id", resource_id)
        if type_ == "aws:sagemaker/featureGroup:FeatureGroup":
            _resolve_offline_store(state, self.answers, digest)
        return resource_id, state

    def _arn(self, type_: str, name: str, resource_id: str) -> str:
        module_path = type_.split(":")[1]  # e.g. "sagemaker/endpointConfiguration"
        service, _, resource = module_path.partition("/")
        a = self.answers
        template = _ARN_TEMPLATES.get(module_path) or _ARN_TEMPLATES.get(service)
        if template is None:
            template = "arn:{partition}:{service}:{region}:{account}:{kind}/{name}"
        return template.format(
            partition=a.partition,
            region=a.region,
            account=a.account_id,
            service=service,
            kind=_kebab(resource),
            name=name,
            id=resource_id,
        )

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
