"""InferenceService (KServe): the exact children, the generated InferenceService checked
strictly against KServe's CRD schema, the provider coming in through opts, and bad input."""

from __future__ import annotations

import copy

import pytest

from mlstack.specs.endpoint import EndpointSpec
from mlstack.components.endpoint.kserve import inference_service, validate_inference_service
from mlstack.errors import ConfigError

COMPONENT = "mlstack:index:InferenceService"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
PROVIDER = "pulumi:providers:kubernetes"


def service(**changes):
    """A valid KServe endpoint on the baseline's model; tests change one thing at a time."""
    spec = {
        "name": "defects",
        "model": "churn-xgb",
        "backend": "kserve",
        "kserve": {"modelFormat": {"name": "pytorch"}, "storageUri": "s3://example-models/defects/4/"},
    }
    spec.update(changes)
    return spec


@pytest.fixture
def plan_service(plan, write_stack):
    """plan_service(changes) -> (graph, component record, InferenceService record)."""

    def run(changes=None, extra_config=None):
        config = {"mlstack:endpoints": [service(**(changes or {}))], "kubernetes:context": "gpu-cluster"}
        config.update(extra_config or {})
        graph = plan(write_stack(config))
        component = graph.by_type(COMPONENT)[0]
        [isvc] = graph.children(component.urn)
        return graph, component, isvc

    return run


def test_creates_exactly_one_inference_service_through_the_stack_provider(plan_service):
    graph, component, isvc = plan_service()
    assert [(r.type, r.name) for r in graph.children(component.urn)] == [(ISVC, "defects-isvc")]
    [provider] = graph.by_type(PROVIDER)
    assert provider.inputs == {"context": "gpu-cluster"}
    assert isvc.provider and isvc.provider.startswith(provider.urn)
    assert isvc.inputs["apiVersion"] == "serving.kserve.io/v1beta1" and isvc.inputs["kind"] == "InferenceService"
    assert isvc.inputs["metadata"]["name"] == "defects" and isvc.inputs["metadata"]["namespace"] == "churn"
    assert graph.outputs["endpoints"]["defects"] == {"backend": "kserve", "serviceName": "defects", "namespace": "churn"}


def test_no_kubernetes_provider_without_a_kserve_endpoint(plan):
    assert not plan("churn-prod").by_type(PROVIDER)


def test_all_at_once_has_no_canary_and_no_mode_annotation(plan_service):
    _, _, isvc = plan_service({"instanceCount": 3})
    predictor = isvc.inputs["spec"]["predictor"]
    assert "canaryTrafficPercent" not in predictor
    assert "serving.kserve.io/deploymentMode" not in isvc.inputs["metadata"].get("annotations", {})
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (3, 3)
    assert predictor["model"] == {"modelFormat": {"name": "pytorch"}, "storageUri": "s3://example-models/defects/4/"}


def test_canary_sets_the_traffic_percent_and_the_serverless_mode(plan_service):
    _, _, isvc = plan_service({"rollout": {"type": "CANARY", "size": {"type": "CAPACITY_PERCENT", "value": 15}}})
    assert isvc.inputs["spec"]["predictor"]["canaryTrafficPercent"] == 15
    assert isvc.inputs["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Serverless"


def test_gpus_become_requests_limits_node_selector_and_toleration(plan_service):
    _, _, isvc = plan_service({"instanceType": "g5.2xlarge", "gpus": 1,
                               "kserve": {"modelFormat": {"name": "pytorch"}, "storageUri": "s3://m/d/", "cpu": "4", "memory": "24Gi",
                                          "nodeSelector": {"workload": "inference"}}})
    predictor = isvc.inputs["spec"]["predictor"]
    assert predictor["model"]["resources"] == {
        "requests": {"cpu": "4", "memory": "24Gi", "nvidia.com/gpu": 1},
        "limits": {"memory": "24Gi", "nvidia.com/gpu": 1},
    }
    assert predictor["nodeSelector"] == {"workload": "inference", "node.kubernetes.io/instance-type": "g5.2xlarge"}
    assert predictor["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_explicit_tolerations_replace_the_gpu_default(plan_service):
    tolerations = [{"key": "team", "operator": "Equal", "value": "vision", "effect": "NoSchedule"}]
    _, _, isvc = plan_service({"gpus": 1, "kserve": {"modelFormat": {"name": "pytorch"}, "storageUri": "s3://m/d/", "tolerations": tolerations}})
    assert isvc.inputs["spec"]["predictor"]["tolerations"] == tolerations


def test_autoscaling_becomes_replicas_and_requests_per_second(plan_service):
    _, _, isvc = plan_service({"autoscaling": {"minCapacity": 2, "maxCapacity": 8, "targetInvocationsPerInstance": 1200}})
    predictor = isvc.inputs["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"], predictor["scaleMetric"], predictor["scaleTarget"]) == (2, 8, "rps", 20)


def test_lineage_becomes_labels_and_annotations(plan_service):
    _, _, isvc = plan_service({"modelVersion": 4})
    metadata = isvc.inputs["metadata"]
    assert metadata["labels"] == {
        "app.kubernetes.io/managed-by": "mlstack",
        "mlstack.dev/team": "churn",
        "mlstack.dev/environment": "dev",
        "mlstack.dev/stack": "churn-dev",
        "mlstack.dev/model": "churn-xgb",
        "mlstack.dev/model-version": "4",
        "mlstack.dev/dataset-version": "v3",
        "mlstack.dev/approval-status": "Approved",  # the registry status verified at deploy time
    }
    assert set(metadata["annotations"]) == {"mlstack.dev/git-commit", "mlstack.dev/dataset"}


def test_vision_prod_serves_on_gpus_with_a_canary(plan):
    graph = plan("vision-prod")
    [isvc] = graph.by_type(ISVC)
    predictor = isvc.inputs["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 10
    assert predictor["model"]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert isvc.inputs["metadata"]["namespace"] == "vision-serving"
    assert graph.by_type(PROVIDER)[0].inputs == {"context": "vision-gpu-prod"}
    assert sum(u.devices for u in graph.gpu_use()) == 8  # 1 GPU x up to 8 replicas
    validate_inference_service({k: isvc.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")})


# ---- rollouts that finish: canary -> promote, or rollback --------------------------------------

def _step(modelVersion=5, **rollout):
    doc = document(modelVersion=modelVersion, rollout={"type": "CANARY", "size": {"value": 20}, **rollout})
    validate_inference_service(doc)
    return doc["spec"]["predictor"].get("canaryTrafficPercent", "absent"), doc["metadata"]["labels"].get("mlstack.dev/rollout-step")


def test_a_new_model_version_is_a_canary_against_the_promoted_one():
    assert _step(promotedVersion=4) == (20, "canary")
    assert _step() == (20, "canary")  # first deployment: KServe gives the only revision all traffic
    assert document(modelVersion=5, rollout={"type": "CANARY", "promotedVersion": 4})["metadata"]["labels"]["mlstack.dev/promoted-version"] == "4"


def test_promoting_drops_the_canary_percent_so_the_latest_revision_takes_all_traffic():
    assert _step(promotedVersion=5) == ("absent", "promoted")


def test_the_next_version_after_a_promotion_is_a_canary_again():
    assert _step(modelVersion=6, promotedVersion=5) == (20, "canary")


def test_rollback_sends_all_traffic_to_the_last_rolled_out_revision():
    assert _step(promotedVersion=4, rollback=True) == (0, "rolled-back")
    assert _step(rollback=True) == (0, "rolled-back")


def test_all_at_once_has_no_rollout_step():
    doc = document(modelVersion=5)
    assert "mlstack.dev/rollout-step" not in doc["metadata"]["labels"]


def test_the_planned_service_carries_the_declared_step(plan_service):
    _, _, isvc = plan_service({"modelVersion": 4, "rollout": {"type": "CANARY", "promotedVersion": 4}})
    assert "canaryTrafficPercent" not in isvc.inputs["spec"]["predictor"]
    assert isvc.inputs["metadata"]["labels"]["mlstack.dev/rollout-step"] == "promoted"
    assert isvc.inputs["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Serverless"


# ---- the schema check ------------------------------------------------------------------------


def document(**changes):
    return inference_service(EndpointSpec.model_validate(service(**changes)), namespace="vision", tags={"mlstack:team": "vision"})


def test_generated_services_match_kserve_schema():
    validate_inference_service(document(gpus=2, instanceType="g5.12xlarge", rollout={"type": "CANARY"},
                                        autoscaling={"minCapacity": 1, "maxCapacity": 3, "targetInvocationsPerInstance": 60}))


def test_a_field_the_schema_does_not_declare_is_an_error_not_silently_pruned():
    bad = copy.deepcopy(document())
    bad["spec"]["predictor"]["canaryTrafficPercentage"] = 10
    with pytest.raises(ConfigError) as caught:
        validate_inference_service(bad)
    message = caught.value.render()
    assert "spec.predictor" in message and "'canaryTrafficPercentage' was unexpected" in message
    assert "would drop it silently" in message


def test_a_wrongly_typed_field_is_an_error():
    bad = copy.deepcopy(document())
    bad["spec"]["predictor"]["minReplicas"] = "two"
    with pytest.raises(ConfigError, match="spec.predictor.minReplicas"):
        validate_inference_service(bad)


# ---- bad input ---------------------------------------------------------------------------------


BAD_KSERVE = [
    ("sagemaker instance type", {"instanceType": "ml.g5.xlarge"}, "endpoints[0].instanceType", "write the EC2 instance type 'g5.xlarge'"),
    ("gpus on a cpu node type", {"instanceType": "m5.2xlarge", "gpus": 1}, "endpoints[0].gpus", "m5.2xlarge is a CPU instance type"),
    ("more gpus than the node has", {"instanceType": "g5.xlarge", "gpus": 4}, "endpoints[0].gpus", "g5.xlarge has 1"),
    ("linear rollout", {"rollout": {"type": "LINEAR"}}, "endpoints[0].rollout.type", "use CANARY or ALL_AT_ONCE (got LINEAR)"),
    ("canary by instance count", {"rollout": {"type": "CANARY", "size": {"type": "INSTANCE_COUNT", "value": 1}}},
     "endpoints[0].rollout.size.type", "size the canary as CAPACITY_PERCENT"),
    ("canary over half", {"rollout": {"type": "CANARY", "size": {"value": 80}}}, "endpoints[0].rollout.size.value", "1-50%"),
    ("bake time", {"rollout": {"type": "CANARY", "waitIntervalSeconds": 600}}, "endpoints[0].rollout.waitIntervalSeconds",
     "KServe does not bake or roll back by itself"),
    ("rollback alarms", {"rollout": {"alarms": ["x"]}}, "endpoints[0].rollout.alarms", "KServe does not bake or roll back"),
    ("canary in raw mode", {"rollout": {"type": "CANARY"}, "kserve": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://m/x/", "deploymentMode": "RawDeployment"}},
     "endpoints[0].kserve.deploymentMode", "use Serverless (Knative)"),
    ("sagemaker-only field", {"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1"}, "endpoints[0].image", "applies to SageMaker endpoints only"),
    ("data capture", {"dataCapture": {"samplingPercent": 50}}, "endpoints[0].dataCapture", "kserve.loggerUrl"),
    ("no kserve settings", {"kserve": None}, "endpoints[0].kserve", "needs kserve settings"),
    ("gpu autoscaling", {"autoscaling": {"minCapacity": 1, "maxCapacity": 2, "targetInvocationsPerInstance": 60, "targetGpuUtilizationPercent": 50}},
     "endpoints[0].autoscaling.targetGpuUtilizationPercent", "scales on requests"),
    ("latest approved", {"modelVersion": "latest-approved"}, "endpoints[0].modelVersion", "pin modelVersion"),
    ("unknown backend", {"backend": "seldon"}, "endpoints[0].backend", "'sagemaker' or 'kserve'"),
    ("misspelt kserve key", {"kserve": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://m/x/", "nodeSelecter": {}}},
     "endpoints[0].kserve.nodeSelecter", "did you mean 'nodeSelector'"),
    ("promote without a pinned version", {"rollout": {"type": "CANARY", "promotedVersion": 4}}, "endpoints[0].rollout.promotedVersion",
     "pin modelVersion"),
    ("promote an all-at-once rollout", {"modelVersion": 4, "rollout": {"promotedVersion": 4}}, "endpoints[0].rollout.promotedVersion",
     "set rollout.type: CANARY"),
    ("rollback of an all-at-once rollout", {"rollout": {"rollback": True}}, "endpoints[0].rollout.rollback", "set rollout.type: CANARY"),
    ("rollback of the promoted version", {"modelVersion": 4, "rollout": {"type": "CANARY", "promotedVersion": 4, "rollback": True}},
     "endpoints[0].rollout.rollback", "says it is promoted"),
    ("bad storage uri", {"kserve": {"modelFormat": {"name": "sklearn"}, "storageUri": "ftp://m/x"}}, "endpoints[0].kserve.storageUri", "wrong form"),
]


@pytest.mark.parametrize("changes, key, phrase", [c[1:] for c in BAD_KSERVE], ids=[c[0] for c in BAD_KSERVE])
def test_bad_kserve_input_exits_2_with_a_clear_message(cli, write_stack, changes, key, phrase):
    path = write_stack({"mlstack:endpoints": [service(**changes)]})
    code, out, err = cli("plan", str(path))
    assert code == 2, out + err
    assert "Traceback" not in err
    [line] = [l for l in err.splitlines() if f"mlstack:{key}:" in l]
    assert phrase in line, err


# ---- a promotion only moves traffic to the version that ran as the canary -------------------------


def _promote_v5(deployed):
    kserve = {"modelFormat": {"name": "pytorch"}, "storageUri": "s3://example-models/defects/5/"}
    if deployed is not None:
        kserve["deployedModelVersion"] = deployed
    return service(modelVersion=5, rollout={"type": "CANARY", "promotedVersion": 5}, kserve=kserve)


def test_promoting_a_version_that_never_ran_as_a_canary_exits_2(cli, write_stack):
    path = write_stack({"mlstack:endpoints": [_promote_v5(deployed=4)], "kubernetes:context": "gpu"})
    code, out, err = cli("plan", str(path))
    assert code == 2, out + err
    [line] = [l for l in err.splitlines() if "mlstack:endpoints[0].rollout.promotedVersion:" in l]
    assert "would send it all traffic at once: the live InferenceService serves version 4 (offline: from kserve.deployedModelVersion)" in line
    assert "rollout.promotedVersion: 4" in err


@pytest.mark.parametrize("deployed", [5, None], ids=["the-canary-runs", "first-deployment"])
def test_promoting_the_running_canary_or_a_first_deployment_plans(plan_service, deployed):
    _, _, isvc = plan_service(_promote_v5(deployed))
    assert "canaryTrafficPercent" not in isvc.inputs["spec"]["predictor"]


def test_the_live_lookup_reads_the_clusters_inference_service(tmp_path):
    """Under `pulumi up` (no offline answers) the lookup asks the cluster, and fails closed."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import yaml

    from mlstack import lookups
    from mlstack.ops.kube import KubeSetupError

    answers = {"/apis/serving.kserve.io/v1beta1/namespaces/vision/inferenceservices/defects":
               {"metadata": {"labels": {"mlstack.dev/model-version": "4"}}, "spec": {"predictor": {"model": {"storageUri": "s3://m/4/"}}}}}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = answers.get(self.path)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(json.dumps(body or {"kind": "Status", "code": 404}).encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        config = tmp_path / "kubeconfig"
        config.write_text(yaml.safe_dump({"current-context": "gpu", "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"}}],
                                          "contexts": [{"name": "gpu", "context": {"cluster": "c"}}]}))
        assert lookups.current_offline_answers() is None
        live = lookups.deployed_inference_service("vision", "defects", kubeconfig=str(config), offline_version=9)
        assert live == lookups.DeployedService("4", "s3://m/4/")
        assert lookups.deployed_inference_service("vision", "other", kubeconfig=str(config)) is None
        with pytest.raises(KubeSetupError):
            lookups.deployed_inference_service("vision", "defects", kubeconfig=str(tmp_path / "missing"))
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("rollout, key", [({"type": "CANARY", "promotedVersion": 2}, "promotedVersion"), ({"type": "CANARY", "rollback": True}, "rollback")])
def test_kserve_rollout_steps_on_a_sagemaker_endpoint_exit_2(cli, write_stack, rollout, key):
    endpoint = {"name": "scoring", "model": "churn-xgb", "instanceType": "ml.m5.large", "instanceCount": 2, "rollout": rollout,
                "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/s:1", "modelDataUrl": "s3://example-churn-models/m.tar.gz"}
    code, out, err = cli("plan", str(write_stack({"mlstack:endpoints": [endpoint]})))
    assert code == 2, out + err
    [line] = [l for l in err.splitlines() if f"mlstack:endpoints[0].rollout.{key}:" in l]
    assert "SageMaker finishes or rolls back a rollout by itself" in line
