"""mlstack:monitors on KServe endpoints: one PrometheusRule per endpoint, through the endpoint's
Kubernetes provider, with the exact alerts and expressions, checked strictly against
prometheus-operator's CRD schema; and bad input rejected at its key with exit 2."""

from __future__ import annotations

import copy

import pytest
import yaml

from mlstack.components.monitor.prometheus import prometheus_rule, validate_prometheus_rule
from mlstack.errors import ConfigError
from mlstack.specs.monitor import MonitorSettings

ALERTS = "mlstack:index:PrometheusAlerts"
RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
PROVIDER = "pulumi:providers:kubernetes"
SEL = 'namespace_name="vision",service_name=~"defects-predictor(-default)?"'


def service(**changes):
    spec = {
        "name": "defects",
        "model": "churn-xgb",
        "backend": "kserve",
        "modelVersion": 4,
        "instanceType": "g5.2xlarge",
        "gpus": 1,
        "rollout": {"type": "CANARY", "size": {"value": 10}, "promotedVersion": 3},
        "kserve": {"namespace": "vision", "modelFormat": {"name": "pytorch"}, "storageUri": "s3://example-models/defects/4/"},
    }
    spec.update(changes)
    return spec


MONITOR = {
    "endpoint": "defects",
    "alarms": {"latencyP99Ms": 250, "errors4xxPercent": None},
    "prometheus": {"ruleLabels": {"release": "kube-prometheus-stack"}, "alertLabels": {"severity": "page", "team": "vision"}},
}


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    from conftest import BASELINE, ROOT
    from mlstack.engine import plan_stack

    config = copy.deepcopy(BASELINE)
    config.update({"mlstack:endpoints": [service()], "mlstack:monitors": [MONITOR], "kubernetes:context": "gpu-cluster"})
    path = tmp_path_factory.mktemp("alerts") / "Pulumi.churn-dev.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return plan_stack(path, cwd=ROOT)


@pytest.fixture(scope="module")
def rule(graph):
    [component] = graph.by_type(ALERTS)
    [rule] = graph.children(component.urn)
    return rule


def test_a_kserve_monitor_is_one_prometheus_rule_through_the_endpoints_provider(graph, rule):
    [component] = graph.by_type(ALERTS)
    assert [(r.type, r.name) for r in graph.children(component.urn)] == [(RULE, "defects-rules")]
    [provider] = graph.by_type(PROVIDER)  # the one the InferenceService uses, not a second one
    assert rule.provider and rule.provider.startswith(provider.urn)
    assert not [r for r in graph.resources if r.type.startswith("aws:cloudwatch") or r.type == "mlstack:index:Monitor"]
    metadata = rule.inputs["metadata"]
    assert (metadata["name"], metadata["namespace"]) == ("defects-mlstack-alerts", "vision")
    assert metadata["labels"]["release"] == "kube-prometheus-stack"
    assert metadata["labels"]["mlstack.dev/model-version"] == "4"
    assert graph.outputs["monitors"]["defects"] == {
        "alerts": ["errors-5xx", "latency-p99", "no-invocations", "gpu-utilization", "gpu-memory"],
        "prometheusRule": "defects-mlstack-alerts",
        "namespace": "vision",
    }


def test_the_rule_matches_prometheus_operators_schema_strictly(rule):
    validate_prometheus_rule({k: rule.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")})


def test_alerts_have_the_exact_expressions_per_revision(rule):
    [group] = rule.inputs["spec"]["groups"]
    assert group["name"] == "mlstack.churn-dev.defects"
    by_alarm = {r["labels"]["mlstack_alarm"]: r for r in group["rules"]}
    total = f"sum by (revision_name) (rate(revision_request_count{{{SEL}}}[5m]))"
    assert by_alarm["errors-5xx"]["expr"] == (
        f'100 * sum by (revision_name) (rate(revision_request_count{{{SEL},response_code_class="5xx"}}[5m])) / {total} > 1'
    )
    assert by_alarm["latency-p99"]["expr"] == (
        f"histogram_quantile(0.99, sum by (revision_name, le) (rate(revision_request_latencies_bucket{{{SEL}}}[5m]))) > 250"
    )
    assert by_alarm["no-invocations"]["expr"] == f"(sum(increase(revision_request_count{{{SEL}}}[60m])) or vector(0)) == 0"
    pods = 'namespace="vision",pod=~"defects-predictor-.*"'
    assert by_alarm["gpu-utilization"]["expr"] == f"avg by (pod) (DCGM_FI_DEV_GPU_UTIL{{{pods}}}) > 90"
    assert by_alarm["gpu-memory"]["expr"] == (
        f"avg by (pod) (100 * DCGM_FI_DEV_FB_USED{{{pods}}} / (DCGM_FI_DEV_FB_USED{{{pods}}} + DCGM_FI_DEV_FB_FREE{{{pods}}})) > 90"
    )
    assert {r["for"] for n, r in by_alarm.items() if n != "no-invocations"} == {"3m"}  # 3 datapoints of 1 minute
    assert by_alarm["errors-5xx"]["labels"] == {
        "severity": "page", "team": "vision", "mlstack_stack": "churn-dev", "mlstack_endpoint": "defects",
        "mlstack_alarm": "errors-5xx", "namespace": "vision",
    }
    assert by_alarm["errors-5xx"]["alert"] == "MlstackInferenceErrors5xx"


PROMQL_SETTINGS = {
    "defaults": {},
    "custom-dcgm-labels": {"prometheus": {"dcgmPodLabel": "exported_pod", "dcgmNamespaceLabel": "exported_namespace"}},
    "long-windows": {"alarms": {"periodMinutes": 60, "evaluationPeriods": 24, "datapointsToAlarm": 12, "noInvocationsMinutes": 1440,
                                "latencyP99Ms": 0.5, "errors5xxPercent": 0.01}},
}


@pytest.mark.parametrize("settings", list(PROMQL_SETTINGS.values()), ids=list(PROMQL_SETTINGS))
def test_every_generated_expression_is_valid_promql(settings):
    """Prometheus (and the operator's admission webhook) refuses a rule file over one bad expression."""
    import promql_parser

    document = prometheus_rule(MonitorSettings.model_validate(settings), service_name="fraud-v2", namespace="risk-serving", gpu=True, stack="s")
    rules = document["spec"]["groups"][0]["rules"]
    assert len(rules) == 6
    for rule in rules:
        promql_parser.parse(rule["expr"])  # raises on a syntax error, e.g. a regex escape PromQL strings lack
    for bad in ('revision_request_count{service_name=~"fraud\\-v2"}', "sum(rate(revision_request_count[5m])"):
        with pytest.raises(ValueError):  # the parser does refuse bad PromQL: a regex escape PromQL strings lack, an open parenthesis
            promql_parser.parse(bad)


def test_turned_off_alarms_and_cpu_endpoints_have_no_such_alert():
    settings = MonitorSettings.model_validate({"alarms": {"errors4xxPercent": None, "noInvocationsMinutes": None}})
    document = prometheus_rule(settings, service_name="defects", namespace="vision", gpu=False, stack="s")
    assert [r["labels"]["mlstack_alarm"] for r in document["spec"]["groups"][0]["rules"]] == ["errors-5xx", "latency-p99"]


def test_timing_follows_period_evaluation_periods_and_datapoints():
    settings = MonitorSettings.model_validate({"alarms": {"periodMinutes": 2, "evaluationPeriods": 5, "datapointsToAlarm": 4},
                                               "prometheus": {"evaluationIntervalSeconds": 30}})
    document = prometheus_rule(settings, service_name="defects", namespace="vision", gpu=False, stack="s")
    [group] = document["spec"]["groups"]
    errors = group["rules"][0]
    assert "[10m]" in errors["expr"] and errors["for"] == "8m" and group["interval"] == "30s"


def test_an_undeclared_field_in_a_rule_is_an_error_not_silently_pruned():
    document = prometheus_rule(MonitorSettings(), service_name="defects", namespace="vision", gpu=False, stack="s")
    bad = copy.deepcopy(document)
    bad["spec"]["groups"][0]["rules"][0]["severity"] = "page"
    with pytest.raises(ConfigError) as caught:
        validate_prometheus_rule(bad)
    message = caught.value.render()
    assert "spec.groups.0.rules.0" in message and "'severity' was unexpected" in message and "drop it silently" in message


def test_a_rule_with_both_alert_and_record_is_an_error():
    document = prometheus_rule(MonitorSettings(), service_name="defects", namespace="vision", gpu=False, stack="s")
    bad = copy.deepcopy(document)
    bad["spec"]["groups"][0]["rules"][0]["record"] = "x:y"
    with pytest.raises(ConfigError, match="exactly one of them"):
        validate_prometheus_rule(bad)
    bad["spec"]["groups"][0]["rules"][0]["for"] = "five minutes"
    with pytest.raises(ConfigError, match="rules.0.for"):
        validate_prometheus_rule(bad)


# ---- bad input ---------------------------------------------------------------------------------

BAD = [
    ("notifications", {}, {"notifications": {"emails": ["a@example.com"]}}, "monitors[0].notifications", "routed by Alertmanager"),
    ("drift", {}, {"drift": {"features": ["a"], "baselineUri": "s3://example-b/base/x.csv", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1"}},
     "monitors[0].drift", "drop drift"),
    ("composite", {}, {"composite": {"anyOf": ["errors-5xx", "latency-p99"]}}, "monitors[0].composite", "Alertmanager inhibition"),
    ("dashboard", {}, {"dashboard": True}, "monitors[0].dashboard", "drop dashboard"),
    ("raw deployment", {"rollout": {"type": "ALL_AT_ONCE"}, "kserve": {"namespace": "vision", "modelFormat": {"name": "pytorch"},
                                                                       "storageUri": "s3://m/d/", "deploymentMode": "RawDeployment"}},
     {}, "monitors[0].endpoint", "kserve.deploymentMode: Serverless"),
    ("cluster default mode", {"rollout": {"type": "ALL_AT_ONCE"}}, {}, "monitors[0].endpoint", "Knative"),
    ("gpu alert without gpus", {"gpus": None, "instanceType": "m5.2xlarge"}, {"alarms": {"gpuMemoryPercent": 80}},
     "monitors[0].alarms.gpuMemoryPercent", "requests no GPUs"),
    ("error threshold that cannot be exceeded", {}, {"alarms": {"errors5xxPercent": 100}}, "monitors[0].alarms.errors5xxPercent", "could never fire"),
    ("reserved alert label", {}, {"prometheus": {"alertLabels": {"mlstack_alarm": "x"}}}, "monitors[0].prometheus.alertLabels.mlstack_alarm",
     "set by mlstack"),
    ("bad alert label name", {}, {"prometheus": {"alertLabels": {"team-name": "x"}}}, "monitors[0].prometheus.alertLabels", "team-name"),
    ("bad rule label value", {}, {"prometheus": {"ruleLabels": {"release": "kube prometheus"}}}, "monitors[0].prometheus.ruleLabels.release",
     "kube prometheus"),
]


@pytest.mark.parametrize("endpoint_changes, monitor, key, phrase", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_kserve_monitor_exits_2_at_its_key(cli, write_stack, endpoint_changes, monitor, key, phrase):
    path = write_stack({"mlstack:endpoints": [service(**endpoint_changes)], "mlstack:monitors": [{"endpoint": "defects", **monitor}]})
    code, out, err = cli("plan", str(path))
    assert code == 2, out + err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if f"mlstack:{key}" in line]
    assert lines and any(phrase in line for line in lines), err


def test_prometheus_settings_on_a_sagemaker_monitor_exit_2(cli, write_stack):
    endpoint = {"name": "scoring", "model": "churn-xgb", "instanceType": "ml.m5.large", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/s:1",
                "modelDataUrl": "s3://example-churn-models/m.tar.gz"}
    path = write_stack({"mlstack:endpoints": [endpoint], "mlstack:monitors": [{"endpoint": "scoring", "prometheus": {}}]})
    code, out, err = cli("plan", str(path))
    assert code == 2, out + err
    assert any("mlstack:monitors[0].prometheus" in line and "KServe endpoints only" in line for line in err.splitlines()), err


def test_the_readme_example_plans_with_its_alerts_and_passes_the_policy_check(cli, tmp_path):
    """The YAML blocks of README's "KServe: rollouts that finish, and alerts", over vision-prod."""
    import re

    from conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme.split("### KServe: rollouts that finish, and alerts", 1)[1].split("\n## ", 1)[0]
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", section, re.S)]
    config = yaml.safe_load((ROOT / "stacks" / "Pulumi.vision-prod.yaml").read_text())["config"]
    [endpoint] = blocks[0]["mlstack:endpoints"]
    config["mlstack:endpoints"] = [{**config["mlstack:endpoints"][0], **endpoint, "kserve": {**config["mlstack:endpoints"][0]["kserve"], **endpoint["kserve"]}}]
    config["mlstack:monitors"] = blocks[1]["mlstack:monitors"]
    config["mlstack:models"][0]["approvedVersion"] = 5  # v5 approved with `mlstack promote` (offline answer)
    path = tmp_path / "Pulumi.vision-prod.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    code, out, err = cli("check", str(path))
    assert code == 0, out + err
    from mlstack.engine import plan_stack

    graph = plan_stack(path, cwd=ROOT)
    [rule] = graph.by_type(RULE)
    assert rule.inputs["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    [isvc] = graph.by_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")
    assert isvc.inputs["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert isvc.inputs["metadata"]["labels"]["mlstack.dev/promoted-version"] == "4"
