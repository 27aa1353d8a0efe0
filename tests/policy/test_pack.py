"""The CrossGuard pack in policies/ is built from the same rule objects `mlstack check` runs, and
the SDK's own analyzer, fed what the Pulumi CLI sends, reports what `mlstack check` reports.

policies/__main__.py is never imported as is: PolicyPack() starts a gRPC server and blocks.
"""

from __future__ import annotations

import ast
import json
import re
import runpy
from pathlib import Path

import pulumi_policy
import pytest
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy.policy import _PolicyAnalyzerServicer

from mlstack.policy import PACK_NAME, POLICIES, pack_arguments, reconcile
from mlstack.policy.check import stack_tags_for

from .cases import DEPUTY, KMS_POLICY, NOTEBOOK, RESOURCE, TRUST, WILDCARD
from .graphs import FOREIGN, KEY_ARN, baseline, iam_baseline, policy_json, set_statements
from .hostile_stacks import grant, key_statement, trust_statement

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "policies"


def test_main_builds_the_pack_from_the_rule_objects_of_mlstack_policy(monkeypatch):
    built = {}

    def fake_pack(**kwargs):
        built.update(kwargs)

    monkeypatch.setattr(pulumi_policy, "PolicyPack", fake_pack)
    runpy.run_path(str(PACK / "__main__.py"), run_name="__main__")
    assert built["name"] == PACK_NAME
    served = built["policies"]
    assert [p.name for p in served] == [p.name for p in POLICIES]
    for policy, rule in zip(served, POLICIES):
        assert type(policy) is type(rule)
        assert policy.config_schema is rule.config_schema
        assert (policy.description, policy.enforcement_level, policy.severity, policy.display_name) == (
            rule.description, rule.enforcement_level, rule.severity, rule.display_name
        )


def test_main_only_builds_the_pack():
    tree = ast.parse((PACK / "__main__.py").read_text())
    statements = [s for s in tree.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    assert all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in statements[:-1])
    call = statements[-1]
    assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call) and call.value.func.id == "PolicyPack"
    defined = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.Lambda, ast.ClassDef))]
    assert defined == [], "rules belong in mlstack.policy, not in the pack"


def test_pack_directory_is_what_pulumi_preview_policy_pack_expects():
    meta = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert meta["runtime"]["name"] == "python"
    assert meta["version"] and meta["description"]
    requirements = [line.strip() for line in (PACK / "requirements.txt").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert "-e .." in requirements, "the pack installs mlstack from this checkout"
    # The rules pass severity, display_name and remediation_steps, which pulumi-policy has since 1.18.
    assert "pulumi-policy>=1.18,<2" in requirements
    assert (ROOT / "pyproject.toml").exists() and (PACK / ".." / "pyproject.toml").resolve() == (ROOT / "pyproject.toml")


def test_policies_are_named_described_and_configurable_like_the_style_asks():
    names = [p.name for p in POLICIES]
    assert len(set(names)) == len(names) >= 11
    for policy in POLICIES:
        assert re.fullmatch(r"mlstack-[a-z0-9]+(-[a-z0-9]+)+", policy.name)
        assert policy.description.startswith("Checks that"), policy.name
        assert policy.remediation_steps
        properties = policy.config_schema.properties
        assert "environments" in properties
        for key, schema in properties.items():
            assert "default" in schema and schema.get("description"), f"{policy.name}.{key}"


def test_every_policy_has_a_severity_and_a_readable_display_name():
    for policy in POLICIES:
        assert isinstance(policy.severity, pulumi_policy.Severity), policy.name
        assert policy.display_name and policy.display_name[0].isupper(), policy.name
        assert not policy.display_name.startswith("mlstack-") and policy.display_name != policy.name
    assert len({p.display_name for p in POLICIES}) == len(POLICIES)
    info = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", pack_arguments()["policies"], pulumi_policy.EnforcementLevel.ADVISORY).GetAnalyzerInfo(None, None)
    severities = {"low": analyzer_pb2.POLICY_SEVERITY_LOW, "medium": analyzer_pb2.POLICY_SEVERITY_MEDIUM,
                  "high": analyzer_pb2.POLICY_SEVERITY_HIGH, "critical": analyzer_pb2.POLICY_SEVERITY_CRITICAL}  # fmt: skip
    reported = {p.name: (p.severity, p.displayName) for p in info.policies}
    assert reported == {p.name: (severities[p.severity.value], p.display_name) for p in POLICIES}


def test_sdk_accepts_the_pack_metadata():
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", pack_arguments()["policies"], pulumi_policy.EnforcementLevel.ADVISORY)
    info = servicer.GetAnalyzerInfo(None, None)
    assert [p.name for p in info.policies] == [p.name for p in POLICIES]
    kinds = {p.name: p.policy_type for p in info.policies}
    assert kinds["mlstack-resource-has-lineage-tags"] == analyzer_pb2.POLICY_TYPE_RESOURCE
    assert kinds["mlstack-model-lineage-complete"] == analyzer_pb2.POLICY_TYPE_STACK
    assert pack_arguments()["name"] == PACK_NAME
    # Topics travel with each policy as its tags, as the CLI and Pulumi Cloud receive them.
    assert {p.name: list(p.tags) for p in info.policies} == {p.name: p.tags for p in POLICIES}
    assert dict((p.name, list(p.tags)) for p in info.policies)["mlstack-kms-key-restricted-and-rotated"] == ["encryption", "iam", "accounts"]


# --- CrossGuard parity ---------------------------------------------------------------------------

_LEVELS = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY, "disabled": analyzer_pb2.DISABLED}
_NAMES = {v: k for k, v in _LEVELS.items()}


def _struct(value: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(value)  # numbers become doubles, as the Pulumi CLI sends them
    return s


def _crossguard(graph, config: dict | None, *, policies: list | None = None) -> set[tuple[str, str, str, str]]:
    """Run the pack the way `pulumi preview --policy-pack` does: the CLI reconciles the config,
    configures the analyzer, then sends every resource to Analyze and the stack to AnalyzeStack.
    With ``config=None`` neither Configure nor ConfigureStack is sent."""
    served = pack_arguments()["policies"] if policies is None else policies
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", served, pulumi_policy.EnforcementLevel.ADVISORY)
    if config is not None:
        settings = reconcile(POLICIES, config)
        servicer.Configure(
            analyzer_pb2.ConfigureAnalyzerRequest(
                policyConfig={
                    name: analyzer_pb2.PolicyConfig(enforcementLevel=_LEVELS[s.level], properties=_struct(s.properties))
                    for name, s in settings.items()
                }
            ),
            None,
        )
        servicer.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(tags=stack_tags_for(graph.env)), None)
    found = set()
    resources = []
    for r in graph.records:
        options = analyzer_pb2.AnalyzerResourceOptions(parent=r.parent or "")
        response = servicer.Analyze(
            analyzer_pb2.AnalyzeRequest(type=r.type, properties=_struct(r.inputs), urn=r.urn, name=r.name, options=options), None
        )
        found |= {(d.policyName, r.urn, _NAMES[d.enforcementLevel], d.message) for d in response.diagnostics}
        resources.append(
            analyzer_pb2.AnalyzerResource(
                type=r.type,
                properties=_struct(r.inputs),
                urn=r.urn,
                name=r.name,
                options=options,
                parent=r.parent or "",
                dependencies=r.dependencies,
                propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v) for k, v in r.property_dependencies.items()},
            )
        )
    response = servicer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources), None)
    found |= {(d.policyName, d.urn, _NAMES[d.enforcementLevel], d.message) for d in response.diagnostics}
    return found


def with_violations(g):
    """``g`` with one change each for a stack policy, a resource policy, and per-environment rules."""
    g.set("scoring-config", "kmsKeyArn", KEY_ARN)                              # stack policy (KMS)
    g.drop("monitor-topic", "tags.mlstack:team")                              # resource policy (tags)
    g.drop("scoring-model", "vpcConfig")                                      # advisory, prod only
    g.set("scoring-model", "primaryContainer.image", "churn:1.4")             # digest, prod only
    g.set("scoring-scaling", "maxCapacity", 5)                                 # GPU cap in dev only
    g.set("churn-xgb-training-artifacts-public-access", "ignorePublicAcls", False)
    return g


def violations(report) -> set[tuple[str, str, str, str]]:
    """A report's violations as CrossGuard words them (policy, URN, level, description + message)."""
    return {(v.policy, v.urn, v.level, f"{v.description}\n{v.message}") for v in report.violations}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_crossguard_and_mlstack_check_report_the_same_violations(env):
    g = with_violations(baseline(env))
    config = {"mlstack-endpoint-requires-monitoring": "advisory", "mlstack-pipeline-gates-registration": "disabled"}
    ours = violations(g.check(config, stack_config={}))
    assert len(ours) >= 4
    assert _crossguard(g, config) == ours


def test_pack_runs_every_policy_with_its_defaults_when_configure_never_arrives():
    g = with_violations(baseline("prod"))
    defaults = violations(g.check(None, stack_config={}, tagged=False))
    assert {v[0] for v in defaults} >= {
        "mlstack-storage-encrypted-with-kms", "mlstack-resource-has-lineage-tags", "mlstack-sagemaker-runs-in-vpc",
        "mlstack-image-pinned-by-digest", "mlstack-s3-bucket-blocks-public-access",
    }  # fmt: skip
    assert _crossguard(g, None) == defaults
    # The bare rule objects under the SDK alone: an empty config, so no environment applies.
    assert _crossguard(g, None, policies=list(POLICIES)) == set()


def test_crossguard_reads_the_account_from_pulumi_config_and_reports_the_same(monkeypatch):
    """Under `pulumi preview --policy-pack`, the stack config reaches the pack as PULUMI_CONFIG."""
    g = iam_baseline("prod")
    grant({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})(g)
    trust_statement({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{FOREIGN}:root"}, "Action": "sts:AssumeRole"})(g)
    key_statement({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["kms:Decrypt"], "Resource": "*"})(g)
    public_read = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::churn-artifacts/*"}
    set_statements(g, "churn-xgb-training-artifacts-policy", "policy", [public_read])
    events = {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}
    g.set("monitor-retrain-role", "assumeRolePolicy", policy_json(events)).drop("feature-store-notebook", "rootAccess")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(g.stack_config()))
    ours = violations(g.check({}))
    assert {v[0] for v in ours} == {WILDCARD, TRUST, KMS_POLICY, RESOURCE, DEPUTY, NOTEBOOK}
    assert _crossguard(g, {}) == ours
