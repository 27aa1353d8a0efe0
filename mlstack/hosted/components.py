"""The five components as mlstack's component package serves them to other languages.

Each class is named exactly like its component (Pulumi takes the type token's last part from
the class name: ``mlstack:index:Endpoint``), declares its inputs (``args``: a class of
:mod:`mlstack.hosted.types`) and its outputs (the annotated attributes) for Pulumi's analyzer,
and, when the provider calls it with the inputs as a dict, builds the mlstack component itself::

    Endpoint("scoring", {"spec": {...}, "endpoint_name": "churn-scoring", ...})
    # -> an mlstack.components.Endpoint: the same type token, children, names and URNs as a
    #    Python stack's Endpoint("scoring", EndpointArgs(...))

``__new__`` returns that component, so ``__init__`` here only declares the arguments (Python
skips it when ``__new__`` returns an object of another class). Validation stays pydantic's: the
dict goes through the component's own ``*Args`` model, and a bad input is one
``mlstack.components.ComponentError`` naming every problem with the input's camelCase path.

What other languages cannot pass as Python does (a component object, a value another resource
produces) arrives as plain inputs — names and ARNs, listed in :data:`mlstack.hosted.generate.LINKS`
— and is turned back into what the component reads: a registry reference, the watched
endpoint's metrics, the retraining pipeline.
"""

import dataclasses
import inspect
import re
from typing import Any, Mapping, Optional

import pulumi
from pulumi.provider.experimental.util import camel_case

from mlstack.components import ComponentError
from mlstack.specs.endpoint import EndpointSpec
from mlstack.specs.registry import ApprovalMode

from . import _api, types
from .generate import LINKS

__all__ = ["ModelRegistry", "FeatureStore", "TrainingPipeline", "Endpoint", "Monitor", "COMPONENTS"]

class ModelRegistry(pulumi.ComponentResource):
    """A SageMaker model package group for one model, with lineage tags and optional
    cross-account read access for promotion to other (prod) accounts. Its approval mode decides
    whether new versions wait for `mlstack promote` (manual) or are Approved on registration."""

    group_name: pulumi.Output[str]
    """The model package group's name."""
    arn: pulumi.Output[str]
    """The model package group's ARN (what a TrainingPipeline registers into and an Endpoint serves from)."""
    approval_mode: ApprovalMode
    """How new versions become Approved (manual or automatic)."""

    def __new__(cls, name: str, args: Mapping[str, Any], opts: Optional[pulumi.ResourceOptions] = None) -> Any:
        check = _Check("ModelRegistry", name, args)
        real = check.validated(_api.ModelRegistryArgs, args)
        check.done()
        return check.built(_api.ModelRegistry, real, opts)

    def __init__(self, name: str, args: types.ModelRegistryArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        """Declares the inputs for Pulumi's analyzer; ``__new__`` builds the component."""


class FeatureStore(pulumi.ComponentResource):
    """SageMaker feature groups with KMS-encrypted online and offline stores: a KMS key (unless
    kmsKeyArn), a private versioned encrypted bucket for the offline stores, one role SageMaker
    assumes to write them, and one feature group per entry of groups."""

    key_arn: pulumi.Output[str]
    """The KMS key of both stores and the offline bucket."""
    bucket_name: pulumi.Output[str]
    """The offline stores' bucket."""
    bucket_arn: pulumi.Output[str]
    """The offline stores' bucket ARN."""
    role_arn: pulumi.Output[str]
    """The role SageMaker assumes to write the offline stores."""
    feature_group_arns: pulumi.Output[dict[str, str]]
    """Each SageMaker feature group's ARN, by the group's name in groups."""
    offline_store_uris: pulumi.Output[dict[str, str]]
    """Where each group's offline store lives (groups with an offline store), by the group's name: a TrainingPipeline's inputUri."""
    offline_store_read_statements: Optional[pulumi.Output[list[dict[str, Any]]]]
    """IAM statements that let another role read the offline stores: a TrainingPipeline's inputReadStatements."""

    def __new__(cls, name: str, args: Mapping[str, Any], opts: Optional[pulumi.ResourceOptions] = None) -> Any:
        check = _Check("FeatureStore", name, args)
        real = check.validated(_api.FeatureStoreArgs, args)
        check.done()
        store = check.built(_api.FeatureStore, real, opts)
        offline = [g.name for g in real.groups if g.offline_store.enabled]
        _expose(
            store,
            feature_group_arns=pulumi.Output.all(**{n: g.arn for n, g in store.groups.items()}),
            offline_store_uris=pulumi.Output.all(**{n: store.offline_uri(n) for n in offline}),
            offline_store_read_statements=store.offline_read_statements(offline[0]) if offline else None,
        )
        return store

    def __init__(self, name: str, args: types.FeatureStoreArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        """Declares the inputs for Pulumi's analyzer; ``__new__`` builds the component."""


class TrainingPipeline(pulumi.ComponentResource):
    """A SageMaker training pipeline for one model (preprocess, train, evaluate, gate, register),
    feeding its ModelRegistry: a KMS key (unless training.kmsKeyArn), a private encrypted
    bucket, least-privilege roles, the pipeline, a role EventBridge may assume to start it and
    an optional schedule."""

    pipeline_name: pulumi.Output[str]
    """The SageMaker pipeline's name."""
    arn: pulumi.Output[str]
    """The SageMaker pipeline's ARN (a Monitor's retrainPipelineArn)."""
    trigger_role_arn: pulumi.Output[str]
    """The role EventBridge and EventBridge Scheduler assume to start the pipeline (a Monitor's retrainTriggerRoleArn)."""
    artifacts_bucket_arn: pulumi.Output[str]
    """The bucket of the splits, checkpoints, models and reports (an Endpoint's artifactsBucketArn)."""
    bucket_name: pulumi.Output[str]
    """That bucket's name."""
    key_arn: pulumi.Output[str]
    """The KMS key of that bucket, the volumes and the logs (an Endpoint's artifactsKeyArn)."""
    serving_image: str
    """The image its registered versions are served with (training.inference.image; an Endpoint's servingImage)."""
    role_arn: pulumi.Output[str]
    """The role the pipeline and its jobs assume."""

    def __new__(cls, name: str, args: Mapping[str, Any], opts: Optional[pulumi.ResourceOptions] = None) -> Any:
        data = dict(args)
        group_name, registry_arn = data.pop("registry_group_name", None), data.pop("registry_arn", None)
        approval_mode = data.pop("approval_mode", None)
        readers = data.pop("cross_account_readers", None)
        check = _Check("TrainingPipeline", name, args)
        registry_args = check.validated(
            _api.ModelRegistryArgs,
            _present(group_name=group_name, approval_mode=approval_mode, cross_account_readers=readers),
            renames={"group_name": "registryGroupName", "cross_account_readers": "crossAccountReaders"},
        )
        if registry_arn is None:
            check.add("registryArn", "is required", "pass the ModelRegistry's arn output")
        real = check.validated(_api.TrainingPipelineArgs, {**data, "registry": _RegistryReference(registry_args, registry_arn)})
        check.done()
        pipeline = check.built(_api.TrainingPipeline, real, opts)
        _expose(pipeline, bucket_name=pipeline.bucket.name, role_arn=pipeline.role.arn)
        return pipeline

    def __init__(self, name: str, args: types.TrainingPipelineArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        """Declares the inputs for Pulumi's analyzer; ``__new__`` builds the component."""


class Endpoint(pulumi.ComponentResource):
    """A SageMaker endpoint serving one model version, rolled out blue/green (ALL_AT_ONCE,
    CANARY, LINEAR) or rolling, rolled back automatically when an alarm fires; with a KMS key,
    a private bucket for data capture, a least-privilege execution role, rollback alarms and
    optional autoscaling."""

    endpoint_name: pulumi.Output[str]
    """The SageMaker endpoint's name."""
    arn: pulumi.Output[str]
    """The SageMaker endpoint's ARN."""
    endpoint_config_name: pulumi.Output[str]
    """The endpoint configuration it runs (a new one per version: changing it runs the rollout)."""
    variant_names: list[str]
    """The production variant names."""
    instance_type: Optional[str]
    """The instance type (none for a serverless endpoint)."""
    is_gpu: bool
    """Whether the endpoint runs on GPUs."""
    alarm_names: list[str]
    """The rollback alarms: mlstack's two, then spec.rollout.alarms."""
    data_capture_uri: Optional[pulumi.Output[str]]
    """Where requests are captured (a Monitor's dataCaptureUri); none when capture is off."""
    kms_key_arn: pulumi.Output[str]
    """The KMS key of captured data, async results and volumes (a Monitor's endpointKmsKeyArn)."""
    model_name: str
    """The model served (spec.model)."""

    def __new__(cls, name: str, args: Mapping[str, Any], opts: Optional[pulumi.ResourceOptions] = None) -> Any:
        data = dict(args)
        registry_arn = data.pop("registry_arn", None)
        if registry_arn is not None:
            data["registry"] = _RegistryReference(None, registry_arn)
        check = _Check("Endpoint", name, args)
        real = check.validated(_api.EndpointArgs, data)
        check.done()
        return check.built(_api.Endpoint, real, opts)

    def __init__(self, name: str, args: types.EndpointArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        """Declares the inputs for Pulumi's analyzer; ``__new__`` builds the component."""


class Monitor(pulumi.ComponentResource):
    """Alarms, data drift, a dashboard and drift-triggered retraining for one SageMaker
    endpoint: an encrypted SNS topic (or your own), alarms on the endpoint's error rates,
    latency, traffic and GPUs, a drift job and its alarms, an optional composite alarm, a
    retraining rule and a CloudWatch dashboard."""

    topic_arn: pulumi.Output[str]
    """The SNS topic every alarm notifies."""
    alarm_names: dict[str, str]
    """Physical alarm name by mlstack name (errors-5xx, latency-p99, features-drifted...)."""
    dashboard_name: Optional[pulumi.Output[str]]
    """The CloudWatch dashboard (when dashboard is on)."""

    def __new__(cls, name: str, args: Mapping[str, Any], opts: Optional[pulumi.ResourceOptions] = None) -> Any:
        data = dict(args)
        endpoint_name, endpoint_spec = data.pop("endpoint_name", None), data.pop("endpoint_spec", None)
        endpoint_arn = data.pop("endpoint_arn", None)
        capture, capture_key = data.pop("data_capture_uri", None), data.pop("endpoint_kms_key_arn", None)
        pipeline_arn, trigger_role_arn = data.pop("retrain_pipeline_arn", None), data.pop("retrain_trigger_role_arn", None)
        check = _Check("Monitor", name, args)
        watched = check.validated(
            _api.EndpointArgs, _present(spec=endpoint_spec, endpoint_name=endpoint_name), renames={"spec": "endpointSpec", "endpoint_name": "endpointName"}
        )
        spec = watched.spec if watched is not None else None
        if spec is not None and spec.data_capture.enabled:
            capture = capture if capture is not None else spec.data_capture.destination
            capture_key = capture_key if capture_key is not None else spec.kms_key_arn
            if capture is None and (data.get("drift") is not None or data.get("quality") is not None):
                check.add(
                    "dataCaptureUri",
                    "is needed for drift and quality: the endpoint captures its requests into a bucket of its own",
                    "pass the Endpoint's dataCaptureUri output",
                )
            if capture_key is None and (data.get("drift") is not None or data.get("quality") is not None):
                check.add(
                    "endpointKmsKeyArn",
                    "is needed for drift and quality: the endpoint encrypts captured requests with a key of its own",
                    "pass the Endpoint's kmsKeyArn output",
                )
        if (pipeline_arn is None) != (trigger_role_arn is None):
            missing = "retrainTriggerRoleArn" if trigger_role_arn is None else "retrainPipelineArn"
            check.add(missing, "is required with the other", "pass the TrainingPipeline's arn and triggerRoleArn outputs together")
        captures = spec is not None and spec.data_capture.enabled
        data["endpoint"] = _WatchedEndpoint(spec, endpoint_name or "", endpoint_arn, capture if captures else None, capture_key if captures else None)
        if pipeline_arn is not None:
            data["retrain_pipeline"] = _RetrainPipeline(pipeline_arn, trigger_role_arn)
        real = check.validated(_api.MonitorArgs, data)
        check.done()
        monitor = check.built(_api.Monitor, real, opts)
        _expose(monitor, dashboard_name=monitor.dashboard.dashboard_name if getattr(monitor, "dashboard", None) else None)
        return monitor

    def __init__(self, name: str, args: types.MonitorArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        """Declares the inputs for Pulumi's analyzer; ``__new__`` builds the component."""


#: What the package hosts, in the order the README lists them.
COMPONENTS: tuple[type[pulumi.ComponentResource], ...] = (ModelRegistry, FeatureStore, TrainingPipeline, Endpoint, Monitor)

for _component in COMPONENTS:
    # The analyzer takes the description from __doc__ as written; Python 3.11 keeps its indent.
    _component.__doc__ = inspect.cleandoc(_component.__doc__ or "")


# -- what other languages give instead of objects ---------------------------------------------


class _RegistryReference(_api.ModelRegistry):
    """A model package group another program created (with a ModelRegistry, in any language),
    known by its ARN (and, for a TrainingPipeline, its name and approval mode): what the
    pipeline and an endpoint read of their registry. It registers nothing."""

    def __init__(self, args: Any, arn: pulumi.Input[str]) -> None:
        # ModelRegistry.__init__ would create the group a second time: set only what is read.
        self.args = args
        self.approval_mode = args.approval_mode if args is not None else ApprovalMode.MANUAL
        self.group_name = pulumi.Output.from_input(args.group_name if args is not None else "")
        self.arn = pulumi.Output.from_input(arn)


class _RetrainPipeline:
    """A TrainingPipeline as a Monitor's retraining rule starts it: its ARN and trigger role."""

    def __init__(self, arn: pulumi.Input[str], trigger_role_arn: pulumi.Input[str]) -> None:
        self.arn = pulumi.Output.from_input(arn)
        self.trigger_role_arn = pulumi.Output.from_input(trigger_role_arn)


class _WatchedEndpoint(_api.EndpointMetrics):
    """An Endpoint as a Monitor reads it (``mlstack.components.monitor.MonitoredEndpoint``),
    rebuilt from the spec and name it was given; its metric verbs are the Endpoint's own
    (:class:`~mlstack.components.endpoint.EndpointMetrics`, production variant)."""

    def __init__(
        self,
        spec: Optional[EndpointSpec],
        endpoint_name: str,
        arn: Optional[pulumi.Input[str]],
        data_capture_uri: Optional[pulumi.Input[str]],
        kms_key_arn: Optional[pulumi.Input[str]],
    ) -> None:
        # spec is None only when it was refused: then the monitor's other arguments are still
        # checked (every problem at once), and nothing is built.
        super().__init__(endpoint_name, spec.variant_name if spec else "")
        self.spec = spec
        self.model_name = spec.model if spec else None
        # The endpoint's name as an output of the endpoint (when its ARN is given), so what uses
        # it waits for the endpoint; metric dimensions use the plain name, as Endpoint's do.
        self.endpoint_name = pulumi.Output.from_input(arn).apply(lambda _: endpoint_name) if arn is not None else pulumi.Output.from_input(endpoint_name)
        self.variant_names = [spec.variant_name] if spec else []
        self.instance_type = spec.instance_type if spec else None
        self.is_gpu = spec.is_gpu if spec else False
        self.data_capture_uri = pulumi.Output.from_input(data_capture_uri) if data_capture_uri is not None else None
        if kms_key_arn is not None:
            self.kms_key_arn = pulumi.Output.from_input(kms_key_arn)  # encrypts the captured data


# -- validation and errors in the words of other languages -------------------------------------


def _present(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@dataclasses.dataclass(frozen=True)
class _Reworded:
    """A problem a component reports about a Python argument other languages do not have (an
    object), said with the input they give instead."""

    component: str
    argument: str
    """The Python argument (first part of its path)."""
    word: str
    """A word of the message that tells this problem from others about the same argument."""
    input: str
    fix: str


#: Python arguments other languages give differently (mlstack.hosted.generate.LINKS), by component.
_RENAMES: dict[str, dict[str, str]] = {
    "TrainingPipeline": {"registry": "registryArn", "feature_store": "inputUri"},
    "Endpoint": {"registry": "registryArn"},
    "Monitor": {"endpoint": "endpointSpec", "retrain_pipeline": "retrainPipelineArn"},
}

_REWORDED = (
    _Reworded("Endpoint", "registry", "", "registryArn", "pass the ModelRegistry's arn output as registryArn (or modelPackageArn)"),
    _Reworded("Endpoint", "model_package_arn", "given with", "modelPackageArn", "pass registryArn or modelPackageArn, not both"),
    _Reworded("Endpoint", "shadow_package_arn", "given with", "shadowPackageArn", "pass registryArn or shadowPackageArn, not both"),
    _Reworded("Endpoint", "pipeline", "image", "servingImage", "give spec.image or servingImage (the TrainingPipeline's servingImage)"),
    _Reworded(
        "Endpoint", "pipeline", "artifacts", "artifactsBucketArn",
        "give spec.artifactsUri or artifactsBucketArn and artifactsKeyArn (the TrainingPipeline's artifactsBucketArn and keyArn outputs)",
    ),
    _Reworded(
        "TrainingPipeline", "feature_store", "", "inputUri",
        "pass the FeatureStore's offlineStoreUris output for that group as inputUri, and its offlineStoreReadStatements as inputReadStatements",
    ),
)


class _Check:
    """Every problem with one component's inputs, raised at once as one ComponentError whose
    arguments are the inputs' camelCase paths."""

    def __init__(self, component: str, name: str, inputs: Mapping[str, Any]) -> None:
        self.component = component
        self.name = name
        self.reworded = [r for r in _REWORDED if r.component == component]
        self.problems: list[Any] = []
        # A value only known at deploy time (another resource's output, a secret) given where the
        # component needs the value itself to decide what to create.
        takes_outputs = {link.name for group in LINKS.get(f"{component}Args", {}).values() for link in group if link.input}
        self.unplain = {camel_case(k) for k, v in inputs.items() if k not in takes_outputs and _holds_output(v)}
        for key in sorted(self.unplain):
            self.add(
                key,
                "takes a plain value (it decides what is created), not another resource's output or a secret",
                "write the value itself, as given to the component it comes from",
            )

    def validated(self, model: Any, data: Mapping[str, Any], *, renames: Optional[Mapping[str, str]] = None) -> Any:
        """``data`` (Python names, as the provider maps the inputs) through the component's own
        args model; None when it refuses them (the problems are kept)."""
        try:
            return model.model_validate(_numbers(dict(data)))
        except ComponentError as exc:
            self.problems += self.translated(exc, list(model.model_fields), renames)
            return None

    def translated(self, exc: ComponentError, fields: list[str], renames: Optional[Mapping[str, str]] = None) -> list[Any]:
        renames = _RENAMES.get(self.component, {}) if renames is None else renames
        out = []
        for original, problem in zip(exc.problems, _translated(exc, renames, fields)):
            if (problem.argument or "").split(".")[0].split("[")[0] in self.unplain:
                continue  # said once, above

            head = (original.argument or "").split(".")[0].split("[")[0]
            rule = next((r for r in self.reworded if r.argument == head and r.word in original.message), None)
            out.append(dataclasses.replace(problem, argument=rule.input, fix=rule.fix) if rule else problem)
        return out

    def add(self, argument: str, message: str, fix: str) -> None:
        self.problems += ComponentError(self.component, argument, message, fix).problems

    def done(self) -> None:
        """Raise the problems found so far, if any."""
        if self.problems:
            raise ComponentError.of(self.problems, component=self.component, name=self.name)

    def built(self, component: Any, args: Any, opts: Optional[pulumi.ResourceOptions]) -> Any:
        """The mlstack component; a ComponentError from its own rules re-said in the inputs' names."""
        try:
            return component(self.name, args, opts)
        except ComponentError as exc:
            self.problems += self.translated(exc, list(type(args).model_fields))
            self.done()
            raise


def _holds_output(value: Any) -> bool:
    if isinstance(value, pulumi.Output):
        return True
    if isinstance(value, dict):
        return any(_holds_output(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_output(v) for v in value)
    return False


def _numbers(value: Any) -> Any:
    """``value`` with whole floats as ints. Numbers cross the wire as doubles (a TypeScript ``8``
    arrives as ``8.0``); typed fields convert them back, but a field that takes several types (a
    hyperparameter, an allowed value, a gate threshold) would keep ``8.0`` and render "8.0"."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def _expose(component: Any, **outputs: Any) -> None:
    """Give ``component`` the package's extra outputs (unless it has them already as attributes)."""
    for key, value in outputs.items():
        present = getattr(component, key, None)
        if callable(present):
            raise TypeError(f"{type(component).__name__}.{key} is a method: name the output otherwise")
        if present is None:
            setattr(component, key, value)


_PATH = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def _camel_path(path: str, renames: Mapping[str, str]) -> str:
    """``spec.rollout.max_error_rate_percent`` -> ``spec.rollout.maxErrorRatePercent`` (the first
    name through ``renames``: a Python argument the package takes under another input)."""
    out = ""
    for i, match in enumerate(_PATH.finditer(path)):
        word, index = match.groups()
        if index is not None:
            out += f"[{index}]"
            continue
        word = renames.get(word, camel_case(word)) if i == 0 else camel_case(word)
        out += f".{word}" if out else word
    return out


def _translated(exc: ComponentError, renames: Mapping[str, str], fields: list[str]) -> list[Any]:
    """The problems of ``exc`` with camelCase argument paths; a Python argument path quoted in a
    message or fix (``spec.artifacts_uri``, ``model_package_arn``) is rewritten the same way."""
    names = sorted({*fields, *renames}, key=len, reverse=True)
    quoted = re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")(?:\.[a-z_][a-z0-9_]*|\[\d+\])*\b")

    def say(text: Optional[str]) -> Optional[str]:
        # Only snake_case paths: a plain word such as "endpoint" is prose, not an argument.
        return quoted.sub(lambda m: _camel_path(m.group(0), renames) if "_" in m.group(0) else m.group(0), text) if text else text

    return [
        dataclasses.replace(p, argument=_camel_path(p.argument, renames) if p.argument else None, message=say(p.message), fix=say(p.fix))
        for p in exc.problems
    ]
