"""The SageMaker pipeline definition of a TrainingPipeline, generated with the sagemaker SDK's
workflow classes (never hand-written JSON), offline: inside :func:`mlstack.components.training.sdk.offline_sdk`,
with no credentials and no network (see there). Besides:

* telemetry is opted out and no SDK config file is read (``sagemaker_config`` is explicit),
  so a definition depends on its inputs alone;
* ``PipelineSession(default_bucket=...)`` and the model builder's bucket are set, so nothing
  tries to create a default bucket; images are brought by the team and no ``source_code`` is
  uploaded.

Definitions are cached on disk (:mod:`mlstack.cache`, namespace ``definitions``) by their
inputs, the SDK's version and this code's (:func:`~.sdk.builder_fingerprint`): a plan whose
definitions are all cached never imports the SDK. They are also cached per process: plans of several stacks, or the same
stack twice, build each distinct pipeline once. Pipelines that differ only in their per-model
strings (names, ARNs, bucket, data URI, lineage) share one build: the SDK builds a template
with placeholders in those fields, and each pipeline's definition is the template with every
placeholder replaced by its JSON-escaped value (see ``_SLOTS``).
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Iterator, Optional

from .iam import MODELS_PREFIX
from .sdk import builder_fingerprint, offline_sdk

#: The on-disk cache namespace of built definitions (see :mod:`mlstack.cache`).
CACHE_NAMESPACE = "definitions"

__all__ = [
    "DefinitionInputs",
    "build_definition",
    "STEP_PREPROCESS",
    "STEP_TRAIN",
    "STEP_EVALUATE",
    "STEP_BASELINE",
    "STEP_GATES",
    "STEP_REGISTER",
    "STEP_FAIL",
    "REPORT_PROPERTY_FILE",
    "METRIC_PROPERTY_PREFIX",
    "PARAM_INPUT_URI",
    "PARAM_DATASET_VERSION",
    "MLFLOW_RUN_PROPERTY",
    "TRACKING_RUN_ID_PATH",
    "tracking_environment",
]

STEP_PREPROCESS = "Preprocess"
STEP_TRAIN = "Train"
STEP_EVALUATE = "Evaluate"
STEP_BASELINE = "LastApprovedMetrics"
STEP_GATES = "CheckGates"
STEP_REGISTER = "Register"
STEP_FAIL = "GateFailed"
REPORT_PROPERTY_FILE = "EvaluationReport"
#: Registered versions carry each evaluation metric as customer metadata ``mlstack:metric:<name>``.
METRIC_PROPERTY_PREFIX = "mlstack:metric:"
#: With a tracking server: the customer metadata key of the MLflow run id, and where the
#: evaluation report holds it ({"mlflow": {"run_id": "..."}}, MLflow's own name for it).
MLFLOW_RUN_PROPERTY = "mlstack:mlflow-run-id"
TRACKING_RUN_ID_PATH = "mlflow.run_id"
PARAM_INPUT_URI = "InputDataUri"
PARAM_DATASET_VERSION = "DatasetVersion"

_PROCESSING_ROOT = "/opt/ml/processing"
@dataclass(frozen=True)
class DefinitionInputs:
    """Everything a definition depends on, as plain values (also the cache key)."""

    pipeline_name: str
    model: str
    region: str
    role_arn: str
    bucket: str
    key_arn: str
    group_name: str
    approval_status: str
    git_commit: str
    input_uri: str
    dataset_version: str
    training: dict[str, Any]
    """TrainingSpec.model_dump() (snake_case)."""
    gates: list[dict[str, Any]]
    """GateSpec.model_dump() for each gate."""
    baseline_function_arn: Optional[str] = None
    """The Lambda that reads the last Approved version's metrics (needed by last-approved gates)."""
    tracking_server_arn: Optional[str] = None
    """An MLflow tracking server: its ARN reaches the training job, the run id the registered version."""
    model_card: Optional[str] = None
    """The model card content (JSON, SageMaker's model package card schema) every registered version carries."""
    model_card_status: str = "Draft"
    """Its ModelCardStatus."""

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)


def build_definition(inputs: DefinitionInputs) -> str:
    """The pipeline definition JSON for ``inputs`` (cached per process).

    Built from the template of its shape when it has one (byte for byte the definition
    ``_build_direct`` returns), else directly."""
    template, values = _templated(inputs)
    if values:
        try:
            text = _template_text(template.key())
        except Exception:  # noqa: BLE001  the direct build raises the same error, naming the real values
            text = None
        if text is not None:
            return _substitute(text, values)
    return _build_direct(inputs)


def _build_direct(inputs: DefinitionInputs) -> str:
    """The definition built by the SDK from ``inputs`` themselves (no template)."""
    return _build_cached(inputs.key())


@functools.lru_cache(maxsize=64)
def _build_cached(key: str) -> str:
    """The definition of the inputs ``key``: from the on-disk cache when it holds one built
    from exactly these inputs by this SDK and this code (:func:`~.sdk.builder_fingerprint`),
    else built — and only then is the SDK imported — and stored there."""
    from ... import cache

    disk_key = json.dumps({"builder": builder_fingerprint(), "inputs": key}, sort_keys=True)
    text = cache.get(CACHE_NAMESPACE, disk_key)
    if isinstance(text, str):
        return text
    data = json.loads(key)
    text = _build(DefinitionInputs(**data))
    cache.put(CACHE_NAMESPACE, disk_key, text)
    return text


# --- templates: one SDK build per shape -------------------------------------------------------
#
# A field is templated only when its value has the form below; the SDK treats any value of
# that form alike (it only checks that a role contains "/", and that the bucket and role are
# set) and copies it whole into the definition (the pipeline name not at all; the model also
# names jobs, ``{model}-train``[:32], but job names are left out of pipeline definitions).
# Other values (empty, unusual) stay in the cache key and are built directly, as before.
# ARN placeholders keep the value's partition, region and account, so anything the SDK might
# read from those parts is the real thing; only the resource name is a placeholder.
# Each placeholder holds _MARK and a digit of its own, so none occurs inside another, and is
# as long as its field allows: a template in which the SDK truncated, split, re-cased or
# otherwise rewrote a placeholder (a stray _MARK is left after the exact ones are taken out),
# or used one as an object key (sort order), is never used.

_MARK = "mlstacktpl"
_ARN_PARTITION = r"arn:(aws[a-z-]*)"


def _pad(stem: str, length: int) -> str:
    return stem + "x" * (length - len(stem))


_SLOTS: dict[str, tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = {
    "pipeline_name": (re.compile(r"[A-Za-z0-9](?:-*[A-Za-z0-9]){0,255}"), lambda m: _pad(f"{_MARK}0pipeline", 256)),
    "model": (re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"), lambda m: _pad(f"{_MARK}1model", 32)),
    "role_arn": (
        re.compile(_ARN_PARTITION + r":iam::(\d{12}):role/[\w+=,.@/-]{1,512}", re.ASCII),
        lambda m: f"arn:{m[1]}:iam::{m[2]}:role/" + _pad(f"{_MARK}2role", 64),
    ),
    "bucket": (re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"), lambda m: _pad(f"{_MARK}3bucket", 63)),
    "key_arn": (
        re.compile(_ARN_PARTITION + r":kms:([a-z0-9-]+):(\d{12}):key/[A-Za-z0-9-]{1,128}"),
        lambda m: f"arn:{m[1]}:kms:{m[2]}:{m[3]}:key/" + _pad(f"{_MARK}4key", 36),
    ),
    "group_name": (re.compile(r"[A-Za-z0-9](?:-*[A-Za-z0-9]){0,62}"), lambda m: _pad(f"{_MARK}5group", 63)),
    "git_commit": (re.compile(r"[\w.:/=+@-]{1,256}", re.ASCII), lambda m: _pad(f"{_MARK}6commit", 40)),
    # A parameter's default value; JSON-escaped like every value (S3 keys may hold any character).
    "input_uri": (re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](?:/.*)?"), lambda m: "s3://" + _pad(f"{_MARK}7input", 63) + "/"),
    # A tag value (letters of any script, digits, spaces and _ . : / = + - @).
    "dataset_version": (re.compile(r"[\w\s.:/=+@-]{1,256}"), lambda m: _pad(f"{_MARK}8dataset", 64)),
    "baseline_function_arn": (
        re.compile(_ARN_PARTITION + r":lambda:([a-z0-9-]+):(\d{12}):function:[A-Za-z0-9_-]{1,64}"),
        lambda m: f"arn:{m[1]}:lambda:{m[2]}:{m[3]}:function:" + _pad(f"{_MARK}9function", 64),
    ),
}


def _templated(inputs: DefinitionInputs) -> tuple[DefinitionInputs, dict[str, str]]:
    """``inputs`` with placeholders in the fields that can take one, and {placeholder: value}."""
    if _MARK in inputs.key().lower():
        return inputs, {}  # a real value that looks like a placeholder: build directly
    fields: dict[str, str] = {}
    values: dict[str, str] = {}
    for field, (form, placeholder) in _SLOTS.items():
        value = getattr(inputs, field)
        match = form.fullmatch(value) if isinstance(value, str) else None
        if match:
            fields[field] = placeholder(match)
            values[fields[field]] = value
    return replace(inputs, **fields), values


@functools.lru_cache(maxsize=64)
def _placeholder_pattern(placeholders: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(p) for p in sorted(placeholders, key=len, reverse=True)))


@functools.lru_cache(maxsize=64)
def _template_text(key: str) -> Optional[str]:
    """The definition built from the templated inputs ``key``, or None if a placeholder did
    not come through whole, as string content only."""
    text = _build_cached(key)
    data = json.loads(key)
    placeholders = tuple(v for v in (data[f] for f in _SLOTS) if isinstance(v, str) and _MARK in v)
    if _MARK in _placeholder_pattern(placeholders).sub("", text).lower():
        return None

    def keys(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            yield from node
            for child in node.values():
                yield from keys(child)
        elif isinstance(node, list):
            for child in node:
                yield from keys(child)

    if any(_MARK in k.lower() for k in keys(json.loads(text))):
        return None
    return text


def _substitute(text: str, values: dict[str, str]) -> str:
    """``text`` (JSON) with each placeholder replaced, in one pass, by its value escaped as
    json.dumps escapes string content."""
    escaped = {p: json.dumps(v)[1:-1] for p, v in values.items()}
    return _placeholder_pattern(tuple(sorted(values))).sub(lambda m: escaped[m[0]], text)


def tracking_environment(server_arn: Optional[str]) -> dict[str, str]:
    """The training job's environment for an MLflow tracking server: the sagemaker-mlflow plugin
    takes the server's ARN as MLFLOW_TRACKING_URI; MLFLOW_TRACKING_ARN names it explicitly."""
    if not server_arn:
        return {}
    return {"MLFLOW_TRACKING_URI": server_arn, "MLFLOW_TRACKING_ARN": server_arn}


def _package_card(p: DefinitionInputs) -> Any:
    """The card each registered version carries (None without one); promote replaces it with
    the card of its decision when it approves the version."""
    if p.model_card is None:
        return None
    from sagemaker.core.resources import ModelPackageModelCard

    return ModelPackageModelCard(model_card_content=p.model_card, model_card_status=p.model_card_status)


def _build(inputs: DefinitionInputs) -> str:
    with offline_sdk(inputs.region) as boto_session:
        return _definition(inputs, boto_session)


def _definition(p: DefinitionInputs, boto_session: Any) -> str:
    from sagemaker.core.metadata_properties import MetadataProperties
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.core.network import NetworkConfig
    from sagemaker.core.processing import Processor
    from sagemaker.core.shapes import (
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
        StoppingCondition,
    )
    from sagemaker.core.training.configs import CheckpointConfig, Compute, InputData, Networking, OutputDataConfig
    from sagemaker.core.workflow.conditions import (
        ConditionEquals,
        ConditionGreaterThan,
        ConditionGreaterThanOrEqualTo,
        ConditionLessThan,
        ConditionLessThanOrEqualTo,
        ConditionOr,
    )
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.core.lambda_helper import Lambda
    from sagemaker.mlops.workflow import (
        ConditionStep,
        FailStep,
        ModelStep,
        Pipeline,
        ProcessingStep,
        TrainingStep,
    )
    from sagemaker.mlops.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep
    from sagemaker.serve.model_builder import ModelBuilder
    from sagemaker.train.model_trainer import ModelTrainer

    t = p.training
    session = PipelineSession(
        boto_session=boto_session,
        default_bucket=p.bucket,
        sagemaker_config={"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}},
    )
    input_uri = ParameterString(name=PARAM_INPUT_URI, default_value=p.input_uri)
    dataset_version = ParameterString(name=PARAM_DATASET_VERSION, default_value=p.dataset_version)

    def run_prefix(*parts: str) -> Any:
        return Join(on="/", values=["s3:/", p.bucket, "executions", ExecutionVariables.PIPELINE_EXECUTION_ID, *parts])

    def volume_key(instance_type: str) -> Optional[str]:
        # Local NVMe volumes (g5, p4d, ...d types) are encrypted by the hardware and SageMaker
        # refuses a KMS key for them; EBS volumes get the pipeline's key.
        from ...catalog import has_local_storage

        return None if has_local_storage(instance_type) else p.key_arn

    vpc = t.get("vpc") or {}
    isolation = bool(t.get("network_isolation", True))

    def network(count: int) -> Any:
        return NetworkConfig(
            enable_network_isolation=isolation,
            security_group_ids=vpc.get("security_group_ids") or None,
            subnets=vpc.get("subnet_ids") or None,
            encrypt_inter_container_traffic=True if count > 1 else None,
        )

    def processor(spec: dict[str, Any], job: str) -> Any:
        return Processor(
            role=p.role_arn,
            image_uri=spec["image"],
            instance_count=spec["instance_count"],
            instance_type=spec["instance_type"],
            entrypoint=spec.get("entrypoint") or None,
            volume_size_in_gb=spec["volume_size_gb"],
            volume_kms_key=volume_key(spec["instance_type"]),
            output_kms_key=p.key_arn,
            max_runtime_in_seconds=spec["max_runtime_minutes"] * 60,
            base_job_name=f"{p.model}-{job}"[:32],
            sagemaker_session=session,
            env=dict(spec.get("environment") or {}) or None,
            network_config=network(spec["instance_count"]),
        )

    def s3_in(name: str, source: Any, local: str) -> Any:
        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(s3_uri=source, local_path=local, s3_data_type="S3Prefix", s3_input_mode="File"),
        )

    def s3_out(name: str, destination: Any) -> Any:
        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(s3_uri=destination, local_path=f"{_PROCESSING_ROOT}/{name}", s3_upload_mode="EndOfJob"),
        )

    # 1. Preprocess: raw data in, train / validation / test splits out.
    pre = t["preprocess"]
    splits = ("train", "validation", "test")
    preprocess = ProcessingStep(
        name=STEP_PREPROCESS,
        step_args=processor(pre, "preprocess").run(
            inputs=[s3_in("raw", input_uri, f"{_PROCESSING_ROOT}/input")],
            outputs=[s3_out(split, run_prefix("data", split)) for split in splits],
            arguments=list(pre.get("arguments") or []) or None,
        ),
    )

    def split_uri(split: str) -> Any:
        return preprocess.properties.ProcessingOutputConfig.Outputs[split].S3Output.S3Uri

    # 2. Train on the train and validation splits.
    tr = t["train"]
    spot = bool(tr["spot"]["enabled"])
    trainer = ModelTrainer(
        training_image=tr["image"],
        role=p.role_arn,
        sagemaker_session=session,
        base_job_name=f"{p.model}-train"[:32],
        compute=Compute(
            instance_type=tr["instance_type"],
            instance_count=tr["instance_count"],
            volume_size_in_gb=tr["volume_size_gb"],
            volume_kms_key_id=volume_key(tr["instance_type"]),
            enable_managed_spot_training=spot or None,
        ),
        stopping_condition=StoppingCondition(
            max_runtime_in_seconds=tr["max_runtime_minutes"] * 60,
            max_wait_time_in_seconds=(tr["spot"]["max_wait_minutes"] or min(2 * tr["max_runtime_minutes"], 40320)) * 60 if spot else None,
        ),
        checkpoint_config=CheckpointConfig(s3_uri=run_prefix("checkpoints")),
        output_data_config=OutputDataConfig(s3_output_path=f"s3://{p.bucket}/{MODELS_PREFIX}", kms_key_id=p.key_arn),
        networking=Networking(
            subnets=vpc.get("subnet_ids") or None,
            security_group_ids=vpc.get("security_group_ids") or None,
            enable_network_isolation=isolation,
            enable_inter_container_traffic_encryption=True if tr["instance_count"] > 1 else None,
        ),
        hyperparameters=dict(tr.get("hyperparameters") or {}),
        environment={**dict(tr.get("environment") or {}), **tracking_environment(p.tracking_server_arn)},
    )
    train = TrainingStep(
        name=STEP_TRAIN,
        step_args=trainer.train(
            input_data_config=[InputData(channel_name=split, data_source=split_uri(split)) for split in ("train", "validation")]
        ),
    )
    model_uri = train.properties.ModelArtifacts.S3ModelArtifacts

    # 3. Evaluate the model on the test split; writes the metrics report.
    ev = t["evaluation"]
    report = PropertyFile(name=REPORT_PROPERTY_FILE, output_name="evaluation", path=ev["report"])
    evaluate = ProcessingStep(
        name=STEP_EVALUATE,
        step_args=processor(ev, "evaluate").run(
            inputs=[s3_in("model", model_uri, f"{_PROCESSING_ROOT}/model"), s3_in("test", split_uri("test"), f"{_PROCESSING_ROOT}/test")],
            outputs=[s3_out("evaluation", run_prefix("evaluation"))],
            arguments=list(ev.get("arguments") or []) or None,
        ),
        property_files=[report],
    )
    report_uri = Join(on="/", values=[evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri, ev["report"]])

    def metric(name: str) -> Any:
        return JsonGet(step_name=evaluate.name, property_file=report, json_path=f"metrics.{name}.value")

    # 4. Gates: one condition per declared gate; last-approved gates compare with the bound the
    #    LastApprovedMetrics Lambda computes from the registry at execution start.
    steps: list[Any] = [preprocess, train, evaluate]
    relative = [(i, g) for i, g in enumerate(p.gates) if g["threshold"] == "last-approved"]
    baseline = None
    if relative:
        if not p.baseline_function_arn:
            raise ValueError("last-approved gates need the baseline function's ARN")
        outputs = [LambdaOutput(output_name="found", output_type=LambdaOutputTypeEnum.Boolean)]
        for i, _ in relative:
            outputs.append(LambdaOutput(output_name=f"bound_{i}", output_type=LambdaOutputTypeEnum.Float))
            outputs.append(LambdaOutput(output_name=f"describe_{i}", output_type=LambdaOutputTypeEnum.String))
        baseline = LambdaStep(
            name=STEP_BASELINE,
            lambda_func=Lambda(function_arn=p.baseline_function_arn, session=session),
            inputs={
                "model_package_group": p.group_name,
                "gates": json.dumps([{"index": i, "metric": g["metric"], "op": g["op"], "tolerance": g["tolerance"]} for i, g in relative]),
            },
            outputs=outputs,
        )
        steps.insert(0, baseline)

    compare = {
        ">=": ConditionGreaterThanOrEqualTo,
        ">": ConditionGreaterThan,
        "<=": ConditionLessThanOrEqualTo,
        "<": ConditionLessThan,
        "==": ConditionEquals,
    }
    conditions = []
    explain: list[Any] = [f"{p.model}: the candidate missed a promotion gate, so it was not registered. Metrics in", report_uri, "-"]
    for i, gate in enumerate(p.gates):
        value = metric(gate["metric"])
        if gate["threshold"] == "last-approved":
            assert baseline is not None
            bound = baseline.properties.Outputs[f"bound_{i}"]
            conditions.append(
                ConditionOr(
                    conditions=[
                        ConditionEquals(left=baseline.properties.Outputs["found"], right=False),
                        compare[gate["op"]](left=value, right=bound),
                    ]
                )
            )
            explain += [f"{gate['metric']}=", value, f"(gate {gate['op']}", baseline.properties.Outputs[f"describe_{i}"], ");"]
        else:
            conditions.append(compare[gate["op"]](left=value, right=float(gate["threshold"])))
            explain += [f"{gate['metric']}=", value, f"(gate {gate['op']} {float(gate['threshold']):g});"]

    # 5. Register in the team's model package group, with metrics and lineage.
    inference = t["inference"]
    builder = ModelBuilder(
        image_uri=inference["image"],
        s3_model_data_url=model_uri,
        role_arn=p.role_arn,
        sagemaker_session=session,
        dependencies={"auto": False},
        log_level=logging.ERROR,  # the builder sets its logger's level itself
        env_vars=dict(inference.get("environment") or {}),
    )
    builder.bucket = p.bucket  # never let the builder look for (and create) a default bucket
    metadata = {
        "mlstack:model": p.model,
        "mlstack:git-commit": p.git_commit,
        "mlstack:dataset": input_uri,
        "mlstack:dataset-version": dataset_version,
        "mlstack:pipeline-execution": ExecutionVariables.PIPELINE_EXECUTION_ARN,
        "mlstack:training-job": train.properties.TrainingJobArn,
        "mlstack:evaluation-report": report_uri,
    }
    for name in ev["metrics"]:
        metadata[f"{METRIC_PROPERTY_PREFIX}{name}"] = Join(on="", values=[metric(name)])
    if p.tracking_server_arn:
        # The run the training logged, as the evaluation report names it (see TRACKING_RUN_ID_PATH).
        metadata[MLFLOW_RUN_PROPERTY] = JsonGet(step_name=evaluate.name, property_file=report, json_path=TRACKING_RUN_ID_PATH)
    register = ModelStep(
        name=STEP_REGISTER,
        step_args=builder.register(
            model_package_group_name=p.group_name,
            approval_status=p.approval_status,
            content_types=list(inference["content_types"]),
            response_types=list(inference["response_types"]),
            inference_instances=list(inference.get("instance_types") or []) or None,
            transform_instances=list(inference.get("transform_instance_types") or []) or None,
            model_metrics=ModelMetrics(model_statistics=MetricsSource(s3_uri=report_uri, content_type="application/json")),
            metadata_properties=MetadataProperties(
                commit_id=p.git_commit,
                generated_by=ExecutionVariables.PIPELINE_EXECUTION_ARN,
            ),
            customer_metadata_properties=metadata,
            model_card=_package_card(p),
        ),
    )
    if conditions:
        fail = FailStep(name=STEP_FAIL, error_message=Join(on=" ", values=explain))
        steps.append(ConditionStep(name=STEP_GATES, conditions=conditions, if_steps=[register], else_steps=[fail]))
    else:
        steps.append(register)  # no gates declared: every trained version is registered
    pipeline = Pipeline(
        name=p.pipeline_name,
        parameters=[input_uri, dataset_version],
        steps=steps,
        sagemaker_session=session,
    )
    definition = json.loads(pipeline.definition())
    return json.dumps(definition, sort_keys=True)
