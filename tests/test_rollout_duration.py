"""Rollouts the AWS provider can wait for: the worst-case duration of a SageMaker endpoint
update, the rejection of rollouts longer than the provider's fixed 60-minute wait (exit 2 at the
rollout key), and the MaximumExecutionTimeoutInSeconds the endpoint is registered with.

Every expected duration below is worked out by hand from the rule in ``rollout_duration``'s
docstring: start-up (CPU 600 s, GPU/Neuron 1200 s, serverless 300 s), bakes, termination wait.
"""

from __future__ import annotations

import pulumi
import pytest

from mlstack.engine import run_program
from mlstack.lookups import OfflineAnswers
from mlstack.specs.endpoint import EndpointSpec
from mlstack.specs.rollout import PROVIDER_WAIT_SECONDS, RolloutSpec, rollout_duration, startup_seconds

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
DIGEST = "sha256:" + "ab" * 32
IMAGE = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-serve@{DIGEST}"


def endpoint(**changes):
    spec = {"name": "scoring", "model": "churn-xgb", "image": IMAGE, "artifactsUri": "s3://example-churn-models/churn-xgb/",
            "instanceType": "ml.m5.large"}
    spec.update(changes)
    return spec


def seconds(rollout: dict, *, instance_type: str | None = "ml.m5.large", fleet: int | None = 4) -> int:
    return rollout_duration(RolloutSpec.model_validate(rollout), instance_type=instance_type, fleet=fleet).seconds


# ---- the duration rule -----------------------------------------------------------------------


def test_provider_bound_is_terraform_provider_aws_fixed_60_minute_wait():
    assert PROVIDER_WAIT_SECONDS == 60 * 60


def test_start_up_is_assumed_slower_on_gpu_and_neuron_types_than_on_cpu():
    assert startup_seconds("ml.m5.large") == 600
    assert startup_seconds("ml.g5.xlarge") == 1200  # NVIDIA A10G
    assert startup_seconds("ml.inf2.xlarge") == 1200  # Inferentia2
    assert startup_seconds(None) == 300  # serverless


def test_all_at_once_is_one_start_up_one_bake_and_the_termination_wait():
    assert seconds({}) == 600 + 300  # defaults: ALL_AT_ONCE, 300 s bake, no termination wait
    assert seconds({"waitIntervalSeconds": 300, "terminationWaitSeconds": 600}, instance_type="ml.g5.xlarge") == 1200 + 300 + 600


def test_canary_bakes_twice_the_canary_then_the_rest():
    duration = rollout_duration(RolloutSpec.model_validate({"type": "CANARY", "waitIntervalSeconds": 900, "terminationWaitSeconds": 600}),
                                instance_type="ml.g5.xlarge", fleet=2)
    assert (duration.steps, duration.startups, duration.seconds) == (2, 1, 1200 + 2 * 900 + 600)
    assert duration.explain() == "1200 s start-up + 2 step(s) x 900 s bake + 600 s termination wait"


def test_linear_bakes_after_every_step_of_the_traffic():
    assert seconds({"type": "LINEAR", "size": {"value": 10}, "waitIntervalSeconds": 600}) == 600 + 10 * 600  # 110 min
    assert seconds({"type": "LINEAR", "waitIntervalSeconds": 300}) == 600 + 5 * 300  # default step 20%
    assert seconds({"type": "LINEAR", "size": {"value": 30}, "waitIntervalSeconds": 100}) == 600 + 4 * 100  # 30+30+30+10
    # Traffic moves by weight: a 2-instance fleet still takes all 10 steps of 10%.
    assert seconds({"type": "LINEAR", "size": {"value": 10}, "waitIntervalSeconds": 60}, fleet=2) == 600 + 10 * 60


def test_linear_by_instance_count_steps_through_the_largest_fleet():
    assert seconds({"type": "LINEAR", "size": {"type": "INSTANCE_COUNT", "value": 1}, "waitIntervalSeconds": 120}, fleet=6) == 600 + 6 * 120
    assert seconds({"type": "LINEAR", "size": {"type": "INSTANCE_COUNT", "value": 2}, "waitIntervalSeconds": 120}, fleet=5) == 600 + 3 * 120


def test_rolling_starts_and_bakes_each_batch_and_has_no_termination_wait():
    rolling = {"type": "ROLLING", "waitIntervalSeconds": 300}  # default batch 25%
    assert seconds(rolling, fleet=4) == 4 * (600 + 300)
    assert seconds(rolling, fleet=2) == 2 * (600 + 300)  # a batch is at least one instance
    assert seconds({**rolling, "terminationWaitSeconds": 600}, fleet=4) == 4 * (600 + 300)
    by_count = {"type": "ROLLING", "size": {"type": "INSTANCE_COUNT", "value": 2}, "waitIntervalSeconds": 60}
    duration = rollout_duration(RolloutSpec.model_validate(by_count), instance_type="ml.g5.xlarge", fleet=6)
    assert (duration.steps, duration.startups, duration.seconds) == (3, 3, 3 * (1200 + 60))
    assert duration.explain() == "3 batch(es) x (1200 s start-up + 60 s bake)"


def test_serverless_canary_counts_serverless_start_up():
    assert seconds({"type": "CANARY", "waitIntervalSeconds": 300}, instance_type=None, fleet=None) == 300 + 2 * 300


def test_the_spec_measures_the_fleet_at_autoscaling_maximum():
    spec = EndpointSpec.model_validate(endpoint(
        instanceCount=2, autoscaling={"minCapacity": 2, "maxCapacity": 5, "targetInvocationsPerInstance": 100},
        rollout={"type": "LINEAR", "size": {"type": "INSTANCE_COUNT", "value": 1}, "waitIntervalSeconds": 300}))
    assert spec.rollout_duration().seconds == 600 + 5 * 300  # five steps once scaled out, not two


# ---- rollouts longer than the provider waits: exit 2 at the rollout key ------------------------


def rollout_problem(cli, write_stack, **changes) -> tuple[int, str, str]:
    """Plan one endpoint through the CLI: (exit code, stderr, the line reported at its rollout key)."""
    path = write_stack({"mlstack:endpoints": [endpoint(**changes)]})
    code, _, err = cli("plan", str(path))
    lines = [line for line in err.splitlines() if "mlstack:endpoints[0].rollout:" in line]
    assert len(lines) <= 1, err
    line = lines[0] if lines else ""
    assert not line or f"{path.name}:" in line, line  # the file (and line) of the key
    return code, err, line


def test_linear_10_percent_every_10_minutes_is_rejected_with_its_duration_the_bound_and_the_fix(cli, write_stack):
    code, err, line = rollout_problem(cli, write_stack, instanceCount=2,
                                      rollout={"type": "LINEAR", "size": {"value": 10}, "waitIntervalSeconds": 600})
    assert code == 2 and "Traceback" not in err
    assert "takes up to 6600 s (110 min) (600 s start-up + 10 step(s) x 600 s bake + 0 s termination wait)" in line
    assert "longer than the 3600 s (60 min) the AWS provider waits for an endpoint update" in line
    assert "customTimeouts cannot raise" in line
    # 20% steps: 600 + 5 x 600 = 3600; 300 s bakes: 600 + 10 x 300 = 3600.
    assert "rollout.size.value: 20 or more" in line and "rollout.waitIntervalSeconds: at most 300" in line


def test_default_rolling_update_on_four_gpu_instances_is_rejected(cli, write_stack):
    code, _, line = rollout_problem(cli, write_stack, instanceType="ml.g5.xlarge", instanceCount=4, rollout={"type": "ROLLING"})
    assert code == 2
    assert "takes up to 6000 s (100 min) (4 batch(es) x (1200 s start-up + 300 s bake))" in line
    assert "rollout.size.value: 50 or more" in line  # 2 x (1200 + 300) = 3000


def test_a_rollout_of_exactly_the_bound_plans_and_one_second_more_does_not(cli, write_stack, plan):
    fits = {"type": "CANARY", "waitIntervalSeconds": 1500}  # 600 + 2 x 1500 = 3600
    graph = plan(write_stack({"mlstack:endpoints": [endpoint(instanceCount=2, rollout=fits)]}))
    assert graph.by_type(ENDPOINT)
    code, _, line = rollout_problem(cli, write_stack, instanceCount=2, rollout={**fits, "waitIntervalSeconds": 1501})
    assert code == 2 and "takes up to 3602 s" in line and "rollout.waitIntervalSeconds: at most 1500" in line


def test_a_long_termination_wait_is_named_in_the_fix(cli, write_stack):
    code, _, line = rollout_problem(cli, write_stack, rollout={"terminationWaitSeconds": 3000})
    assert code == 2 and "takes up to 3900 s (65 min)" in line
    assert "rollout.terminationWaitSeconds: at most 2700" in line  # 600 + 300 + 2700 = 3600


def test_kserve_rollouts_are_not_measured(plan, write_stack):
    # Nothing waits on an InferenceService (pulumi-kubernetes does not await custom resources unless
    # asked to), and KServe takes no bake times: a canary is never rejected for its duration.
    spec = endpoint(backend="kserve", instanceType="g5.xlarge", modelVersion=1, rollout={"type": "CANARY"},
                    kserve={"modelFormat": {"name": "sklearn"}, "storageUri": "s3://example-churn-models/churn-xgb/1/"})
    for key in ("image", "artifactsUri"):
        spec.pop(key)
    graph = plan(write_stack({"mlstack:endpoints": [spec]}))
    assert graph.by_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")


# ---- what the endpoint is registered with -----------------------------------------------------


@pytest.fixture
def endpoint_record(plan, write_stack):
    def run(**changes):
        graph = plan(write_stack({"mlstack:endpoints": [endpoint(**changes)]}))
        [record] = graph.by_type(ENDPOINT)
        return record

    return run


def test_maximum_execution_timeout_defaults_to_the_provider_wait_for_blue_green_and_rolling(endpoint_record):
    blue_green = endpoint_record(instanceCount=2, rollout={"type": "CANARY"}).inputs["deploymentConfig"]["blueGreenUpdatePolicy"]
    assert blue_green["maximumExecutionTimeoutInSeconds"] == PROVIDER_WAIT_SECONDS
    rolling = endpoint_record(instanceCount=4, rollout={"type": "ROLLING", "waitIntervalSeconds": 60}).inputs["deploymentConfig"]["rollingUpdatePolicy"]
    assert rolling["maximumExecutionTimeoutInSeconds"] == PROVIDER_WAIT_SECONDS


def test_a_shorter_maximum_execution_timeout_is_kept(endpoint_record):
    record = endpoint_record(instanceCount=2, rollout={"type": "CANARY", "waitIntervalSeconds": 300, "maximumExecutionTimeoutSeconds": 1800})
    assert record.inputs["deploymentConfig"]["blueGreenUpdatePolicy"]["maximumExecutionTimeoutInSeconds"] == 1800


def test_the_recording_monitor_records_custom_timeouts():
    import pulumi_aws as aws

    def program():
        aws.sagemaker.Endpoint("timed", endpoint_config_name="c",
                               opts=pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(update="90m")))
        aws.sagemaker.Endpoint("untimed", endpoint_config_name="c")

    graph = run_program(program, project="p", stack="s", config={}, answers=OfflineAnswers())
    assert {r.name: r.custom_timeouts for r in graph.by_type(ENDPOINT)} == {"timed": {"update": "90m"}, "untimed": {}}


def test_the_endpoint_sets_no_custom_timeouts_the_provider_would_ignore(endpoint_record):
    # aws_sagemaker_endpoint has no Timeouts block and waits a fixed 60 minutes whatever
    # customTimeouts says; a timeout here would only suggest a longer rollout could work.
    assert endpoint_record(instanceCount=2, rollout={"type": "CANARY"}).custom_timeouts == {}
