"""The component package (components/): mlstack's five components for every Pulumi language.

What Pulumi does with it was read from pulumi/pulumi:

* sdk/python/lib/pulumi/provider/experimental/ (ComponentProvider.md, analyzer.py, component.py,
  host.py): the schema is inferred from the hosted classes' annotations (the class name is the
  type token's last part); ``ComponentProvider.construct(name, type, inputs, options)`` maps the
  camelCase inputs to Python names and calls the class with a dict;
* sdk/python/cmd/pulumi-language-python/main.go (RunPlugin, parseOptions): the CLI runs
  ``python <plugin directory> <engine address>``, with the virtualenv ``venv`` by default for
  plugins; sdk/python/toolchain/pip.go: it installs ``requirements.txt`` with the plugin
  directory as working directory;
* pkg/cmd/pulumi/packagecmd/package_add.go: ``pulumi package add <directory>`` runs the plugin to
  get its schema and records the directory in Pulumi.yaml's ``packages``.

Here the provider is built from components/__main__.py's own call, its schema is compared with
the specs, and the YAML example is checked against the schema and run through the provider's
construct path under the mock runtime, beside the same program written with the Python API.
"""

import ast
import copy
import json
import re
import runpy
import subprocess
import sys
import threading
import types as pytypes
import typing
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

import mlstack.components as api
from conftest import ROOT
from mlstack.engine import run_program
from mlstack.hosted import generate
from mlstack.lookups import OfflineAnswers

PACKAGE_DIR = ROOT / "components"
EXAMPLE = ROOT / "examples" / "yaml" / "Pulumi.yaml"
TOKENS = [f"mlstack:index:{c}" for c in ("ModelRegistry", "FeatureStore", "TrainingPipeline", "Endpoint", "Monitor")]
ANSWERS = OfflineAnswers(account_id="210987654321", region="eu-west-1")


# -- the provider, as components/__main__.py builds it -----------------------------------------


@pytest.fixture(scope="module")
def host_call() -> dict[str, Any]:
    """The arguments components/__main__.py passes to component_provider_host (run as the CLI
    runs it: the directory as the script), without starting the gRPC server."""
    import pulumi.provider.experimental as experimental

    calls: list[dict[str, Any]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(experimental, "component_provider_host", lambda **kwargs: calls.append(kwargs))
        runpy.run_path(str(PACKAGE_DIR), run_name="__main__")
    assert len(calls) == 1
    return calls[0]


@pytest.fixture(scope="module")
def provider(host_call):
    from pulumi.provider.experimental.component import ComponentProvider

    return ComponentProvider(host_call["components"], host_call["name"], host_call["namespace"], host_call["version"])


@pytest.fixture(scope="module")
def schema(provider) -> dict[str, Any]:
    return json.loads(provider.schema)


# -- (a) the schema and the specs ---------------------------------------------------------------


def test_host_serves_the_five_components_under_the_python_type_tokens(host_call, schema):
    recorded = json.loads((ROOT / "tests/data/urns-before-layout.json").read_text())
    deployed_types = {urn.split("::")[2].split("$")[-1] for urns in recorded.values() for urn in urns}
    assert host_call["name"] == "mlstack"
    assert host_call["version"] == _mlstack_version()
    assert sorted(schema["resources"]) == sorted(TOKENS)
    assert set(TOKENS) <= deployed_types, "the tokens existing stacks hold"
    assert sorted(c.pulumi_type for c in (api.ModelRegistry, api.FeatureStore, api.TrainingPipeline, api.Endpoint, api.Monitor)) == sorted(TOKENS)
    assert all(resource["isComponent"] for resource in schema["resources"].values())


def test_every_python_argument_is_an_input_of_the_same_name_and_requiredness(schema):
    assert drift(schema) == []


def test_the_drift_check_reports_a_missing_field_and_a_changed_requiredness(schema):
    changed = copy.deepcopy(schema)
    del changed["types"]["mlstack:index:RolloutSpec"]["properties"]["waitIntervalSeconds"]
    changed["resources"]["mlstack:index:ModelRegistry"]["requiredInputs"].remove("groupName")
    changed["resources"]["mlstack:index:Monitor"]["inputProperties"]["dataCaptureUri"]["plain"] = True
    assert sorted(drift(changed)) == [
        "Endpoint.spec.rollout.waitIntervalSeconds: missing",
        "ModelRegistry.groupName: required in Python, optional in the schema",
        "Monitor.dataCaptureUri: plain in the schema, but it takes another resource's output",
        "Monitor.endpointSpec.rollout.waitIntervalSeconds: missing",
    ]


def test_values_other_resources_produce_are_inputs_and_specs_are_plain(schema):
    inputs = schema["resources"]["mlstack:index:Endpoint"]["inputProperties"]
    assert "plain" not in inputs["registryArn"] and "plain" not in inputs["artifactsBucketArn"]
    assert inputs["spec"] == {"description": inputs["spec"]["description"], "plain": True, "$ref": "#/types/mlstack:index:EndpointSpec"}
    assert "plain" not in inputs["modelPackageArn"], "bring your own package"
    assert "registry" not in inputs and "pipeline" not in inputs, "Python objects"


def test_literals_and_unions_become_their_value_type_or_any_with_the_choices_described(schema):
    gate = schema["types"]["mlstack:index:GateSpec"]["properties"]
    assert gate["op"]["type"] == "string" and "One of: >=, >, <=, <, ==." in gate["op"]["description"]
    assert gate["threshold"]["$ref"] == "pulumi.json#/Any" and "'last-approved'" in gate["threshold"]["description"]
    serverless = schema["types"]["mlstack:index:ServerlessSpec"]["properties"]["memorySizeMb"]
    assert serverless["type"] == "integer"


def test_every_input_output_and_type_property_has_a_description(schema):
    undocumented = []
    for token, resource in schema["resources"].items():
        for kind in ("inputProperties", "properties"):
            undocumented += [f"{token} {kind}.{n}" for n, p in resource[kind].items() if not p.get("description")]
        assert resource.get("description")
    for token, type_ in schema["types"].items():
        undocumented += [f"{token}.{n}" for n, p in type_.get("properties", {}).items() if not p.get("description")]
        assert type_.get("description"), token
    assert undocumented == []


def test_outputs_are_the_annotated_attributes_of_the_hosted_classes(host_call, schema):
    import inspect

    for component in host_call["components"]:
        declared = {_camel(n) for n in inspect.get_annotations(component)}
        assert set(schema["resources"][f"mlstack:index:{component.__name__}"]["properties"]) == declared
    outputs = schema["resources"]["mlstack:index:Endpoint"]["properties"]
    assert outputs["variantNames"]["type"] == "array" and outputs["variantNames"]["items"]["type"] == "string"
    assert outputs["isGpu"]["type"] == "boolean" and outputs["arn"]["type"] == "string"
    assert "instanceType" not in schema["resources"]["mlstack:index:Endpoint"]["required"], "none when serverless"


def test_generated_types_are_those_the_specs_give_today():
    assert generate.render() == generate.TYPES_FILE.read_text(), "run: python -m mlstack.hosted.generate"


def test_hosted_modules_keep_annotations_as_objects():
    for path in [*sorted((ROOT / "mlstack" / "hosted").glob("*.py")), PACKAGE_DIR / "__main__.py"]:
        tree = ast.parse(path.read_text())
        future = [a.name for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == "__future__" for a in n.names]
        assert "annotations" not in future, path


def test_a_python_argument_other_languages_cannot_pass_needs_a_replacement(monkeypatch):
    class WithAnObject(BaseModel):
        endpoint: Any
        """An object."""

    monkeypatch.setitem(generate.ARGS, "WithAnObjectArgs", WithAnObject)
    with pytest.raises(generate.GenerationError, match=r"WithAnObject.endpoint takes Any .*LINKS"):
        generate.render()


# -- (b) built through the provider: the same resources as the Python API -------------------------


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text())


@pytest.fixture(scope="module")
def both_ways(provider, example):
    """The YAML example run through the provider's construct path, and the same program written
    with the Python API: (graph, construct states) and graph."""
    hosted, states = run_yaml(provider, example)
    python = run_program(lambda: python_program(example), project="p", stack="churn-prod", config={}, answers=ANSWERS)
    return hosted, states, python


@pytest.mark.parametrize("token", TOKENS)
def test_a_component_built_through_the_provider_registers_what_the_python_api_does(both_ways, token):
    hosted, _, python = both_ways
    [component] = python.by_type(token)
    mine, theirs = _subtree(hosted, component.urn), _subtree(python, component.urn)
    assert len(theirs) > 1, "the component and its children"
    assert mine.keys() == theirs.keys()
    for urn in theirs:
        assert mine[urn] == theirs[urn], urn


def test_the_whole_example_registers_exactly_the_python_programs_resources(both_ways):
    hosted, _, python = both_ways
    assert [r.to_json() for r in hosted] == [r.to_json() for r in python]


def test_construct_returns_every_declared_output(both_ways, schema):
    _, states, _ = both_ways
    for key, token in {"registry": "mlstack:index:ModelRegistry", "features": "mlstack:index:FeatureStore", "training": "mlstack:index:TrainingPipeline", "scoring": "mlstack:index:Endpoint", "monitor": "mlstack:index:Monitor"}.items():
        assert set(states[key]) == set(schema["resources"][token]["properties"]), key
    assert states["registry"]["approvalMode"] == "manual"
    assert states["scoring"]["variantNames"] == ["primary"] and states["scoring"]["isGpu"] is True
    assert states["monitor"]["alarmNames"]["features-drifted"] == "churn-prod-scoring-features-drifted"


def test_the_endpoint_serves_the_pinned_version_of_the_registry_it_is_given(both_ways):
    hosted, _, _ = both_ways
    [model] = [r for r in hosted.by_type("aws:sagemaker/model:Model") if r.name == "scoring-model"]
    assert model.inputs["primaryContainer"]["modelPackageName"] == "arn:aws:sagemaker:eu-west-1:210987654321:model-package/churn-churn-xgb/7"


def test_numbers_that_crossed_the_wire_as_floats_keep_their_integer_meaning(both_ways):
    hosted, _, _ = both_ways
    [pipeline] = [r for r in hosted.by_type("aws:sagemaker/pipeline:Pipeline") if r.name == "churn-xgb-training-pipeline"]
    text = pipeline.inputs["pipelineDefinition"]
    assert '"max_depth": "8"' in text and '"num_round": "400"' in text and '"eta": "0.1"' in text
    [group] = hosted.by_type("aws:sagemaker/featureGroup:FeatureGroup")
    assert group.name == "feature-store-customers"  # allowed: [0, 1] of an Integral feature passed validation


# -- bad inputs: one ComponentError in the inputs' own names -------------------------------------


def construct_error(provider, token: str, inputs: Any) -> str:
    """The error ``construct`` raises for ``inputs`` (or what ``inputs()`` returns inside the
    program), after checking nothing was registered."""
    from pulumi.provider.server import ComponentInitError

    caught: list[BaseException] = []

    def program() -> None:
        try:
            provider.construct("scoring", token, inputs() if callable(inputs) else inputs, None)
        except ComponentInitError as exc:
            caught.append(exc.inner)

    graph = run_program(program, project="p", stack="churn-prod", config={}, answers=ANSWERS)
    assert len(caught) == 1 and isinstance(caught[0], api.ComponentError), caught
    assert len(graph) == 0, [r.urn for r in graph]
    return str(caught[0])


def test_bad_endpoint_inputs_are_named_as_other_languages_write_them(provider, example):
    spec = {**example["variables"]["scoringEndpoint"], "instanceCount": 0}
    message = construct_error(provider, "mlstack:index:Endpoint", {"spec": spec, "endpointName": "churn scoring", "registryArn": "arn:aws:sagemaker:eu-west-1:210987654321:model-package-group/g"})
    assert "Endpoint 'scoring': argument spec.instanceCount: Input should be greater than 0 (got 0)" in message
    assert "Endpoint 'scoring': argument endpointName: String should match pattern" in message
    assert "instance_count" not in message and "endpoint_name" not in message


def test_an_endpoint_serving_a_registry_version_needs_the_registry(provider, example):
    message = construct_error(
        provider, "mlstack:index:Endpoint", {"spec": example["variables"]["scoringEndpoint"], "endpointName": "churn-scoring", "servingImage": IMAGE}
    )
    assert "Endpoint 'scoring': argument registryArn: endpoint 'scoring' serves a registry version; pass the ModelRegistry's arn output as registryArn" in message
    assert "argument artifactsBucketArn: is needed without spec.artifactsUri; give spec.artifactsUri or artifactsBucketArn and artifactsKeyArn" in message
    assert "pipeline" not in message.replace("TrainingPipeline", "")


def test_a_pipeline_reports_its_registry_inputs_and_its_own_arguments_at_once(provider, example):
    inputs = {k: v for k, v in example["resources"]["training"]["properties"].items() if not str(v).startswith("${")}
    inputs["gates"] = [{"metric": "auc", "op": "=>", "threshold": 0.8}]
    inputs["registryGroupName"] = "churn_xgb"
    message = construct_error(provider, "mlstack:index:TrainingPipeline", {**inputs, "registryArn": "arn:aws:sagemaker:eu-west-1:210987654321:model-package-group/g"})
    assert "TrainingPipeline 'scoring': argument registryGroupName: String should match pattern" in message
    assert "TrainingPipeline 'scoring': argument gates[0].op: Input should be '>=', '>', '<=', '<' or '=='" in message


def test_a_missing_required_input_is_refused_by_the_provider_before_anything_is_built(provider, example):
    from pulumi.errors import InputPropertyError

    inputs = {k: v for k, v in example["resources"]["training"]["properties"].items() if not str(v).startswith("${")}
    del inputs["registryGroupName"]
    with pytest.raises(InputPropertyError) as caught:
        provider.construct("scoring", "mlstack:index:TrainingPipeline", inputs, None)
    assert caught.value.property_path == "registryGroupName"


def test_drift_on_an_endpoint_capturing_into_its_own_bucket_needs_its_capture_uri(provider, example):
    inputs = {k: v for k, v in example["resources"]["monitor"]["properties"].items() if not str(v).startswith("${")}
    inputs["endpointSpec"] = example["variables"]["scoringEndpoint"]
    message = construct_error(provider, "mlstack:index:Monitor", inputs)
    assert "Monitor 'scoring': argument dataCaptureUri: is needed for drift" in message
    assert "pass the Endpoint's dataCaptureUri output" in message


def test_another_resources_output_where_a_plain_value_is_needed_is_named_once(provider, example):
    import pulumi

    def inputs() -> dict[str, Any]:
        given = {k: v for k, v in example["resources"]["monitor"]["properties"].items() if not str(v).startswith("${")}
        # What the engine passes for `endpointName: ${scoring.endpointName}`.
        return {**given, "endpointName": pulumi.Output.from_input("churn-scoring"), "endpointSpec": example["variables"]["scoringEndpoint"], "drift": None}

    message = construct_error(provider, "mlstack:index:Monitor", inputs)
    assert message.count("endpointName") == 1, message
    assert "Monitor 'scoring': argument endpointName: takes a plain value (it decides what is created), not another resource's output" in message


# -- (c) the YAML example against the schema ----------------------------------------------------


def test_the_yaml_example_uses_the_five_components_from_this_package(example):
    assert sorted({r["type"] for r in example["resources"].values()}) == sorted(TOKENS)
    assert example["runtime"] == "yaml"
    assert (EXAMPLE.parent / example["packages"]["mlstack"]).resolve() == PACKAGE_DIR


def test_the_yaml_example_matches_the_schema(schema, example):
    assert yaml_problems(schema, example) == []


def test_the_yaml_check_finds_misspelt_mistyped_missing_and_unplain_properties(schema, example):
    broken = copy.deepcopy(example)
    registry = broken["resources"]["registry"]["properties"]
    registry["groupname"] = registry.pop("groupName")
    broken["resources"]["features"]["properties"]["groups"][0]["onlineStore"]["ttlDays"] = "ninety"
    broken["resources"]["monitor"]["properties"]["endpointName"] = "${scoring.endpointName}"
    broken["outputs"]["alarms"] = "${monitor.alarms}"
    assert yaml_problems(schema, broken) == [
        "registry: unknown property groupname",
        "registry: required property groupName is missing",
        "features.groups[0].onlineStore.ttlDays: expected integer, got 'ninety'",
        "monitor.endpointName: takes a plain value, not ${scoring.endpointName}",
        "outputs.alarms: mlstack:index:Monitor has no output alarms",
    ]


# -- components/ as the Pulumi CLI uses it -------------------------------------------------------


def test_plugin_runs_with_pip_and_the_venv_virtualenv():
    manifest = yaml.safe_load((PACKAGE_DIR / "PulumiPlugin.yaml").read_text())
    assert manifest == {"runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}}


def test_requirements_install_mlstack_from_the_checkout_with_the_pipeline_sdk():
    lines = [line.strip() for line in (PACKAGE_DIR / "requirements.txt").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert lines == ["-e ..[pipelines]"]
    # pip runs in the plugin directory: `..` is the repository.
    assert (PACKAGE_DIR / ".." / "pyproject.toml").resolve() == ROOT / "pyproject.toml"


def test_the_plugin_serves_its_schema_when_run_as_the_cli_runs_it(schema):
    import grpc
    from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
    from google.protobuf import empty_pb2

    # `python <plugin directory> <engine address>`; the engine is only called during Construct.
    plugin = subprocess.Popen([sys.executable, str(PACKAGE_DIR), "127.0.0.1:1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, plugin.kill)
    watchdog.start()
    try:
        port = plugin.stdout.readline().strip()
        assert port.isdigit(), plugin.stderr.read() if plugin.poll() is not None else port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            served = json.loads(stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30).schema)
            info = stub.GetPluginInfo(empty_pb2.Empty(), timeout=30)
    finally:
        watchdog.cancel()
        plugin.kill()
        plugin.wait(timeout=30)
        plugin.stdout.close()
        plugin.stderr.close()
    assert served == schema
    assert info.version == _mlstack_version()


# -- helpers: the schema walk ---------------------------------------------------------------------

IMAGE = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/churn-xgb-serve@sha256:" + "b0" * 32
_SCALAR = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _mlstack_version() -> str:
    import importlib.metadata

    return importlib.metadata.version("mlstack")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def drift(schema: dict[str, Any]) -> list[str]:
    """Where the schema and the Python arguments (with their specs) disagree: a field missing, an
    input too many, another required-ness or type, a plain input that should take outputs."""
    problems: list[str] = []
    for args_name, model in generate.ARGS.items():
        component = args_name.removesuffix("Args")
        resource = schema["resources"][f"mlstack:index:{component}"]
        links = generate.LINKS.get(args_name, {})
        expected: dict[str, tuple[bool, Any, bool]] = {}
        for name, field in model.model_fields.items():
            if name not in links:
                expected[field.alias or name] = (field.is_required(), field.annotation, False)
        for group in links.values():
            for link in group:
                expected[_camel(link.name)] = (link.required, link.type, link.input)
        problems += _object(component, resource["inputProperties"], set(resource.get("requiredInputs", [])), expected, schema, top=True)
    return problems


def _object(path: str, properties: dict, required: set, expected: dict, schema: dict, *, top: bool = False) -> list[str]:
    problems = []
    for name, (is_required, annotation, takes_outputs) in expected.items():
        where = f"{path}.{name}"
        if name not in properties:
            problems.append(f"{where}: missing")
            continue
        if is_required != (name in required):
            problems.append(f"{where}: {'required' if is_required else 'optional'} in Python, {'required' if name in required else 'optional'} in the schema")
        plain = bool(properties[name].get("plain"))
        if top and takes_outputs and plain:
            problems.append(f"{where}: plain in the schema, but it takes another resource's output")
        if top and not takes_outputs and not plain:
            problems.append(f"{where}: takes outputs in the schema, but the component needs a plain value")
        problems += _type(where, properties[name], annotation, schema)
    problems += [f"{path}.{name}: not a Python argument" for name in properties if name not in expected]
    return problems


def _type(where: str, prop: dict, annotation: Any, schema: dict) -> list[str]:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type(where, prop, args[0], schema)
    if origin in (typing.Union, pytypes.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _type(where, prop, options[0], schema)
        return [] if prop.get("$ref") == "pulumi.json#/Any" else [f"{where}: a union should be Any"]
    if origin is typing.Literal:
        kinds = {_SCALAR[type(v)] for v in args}
        return [] if prop.get("type") in kinds or prop.get("$ref") == "pulumi.json#/Any" else [f"{where}: expected {kinds}"]
    if annotation is Any:
        return [] if prop.get("$ref") == "pulumi.json#/Any" else [f"{where}: expected Any"]
    if annotation in _SCALAR:
        return [] if prop.get("type") == _SCALAR[annotation] else [f"{where}: expected {_SCALAR[annotation]}, got {prop.get('type') or prop.get('$ref')}"]
    if origin is list:
        return _type(f"{where}[]", prop.get("items", {}), args[0], schema) if prop.get("type") == "array" else [f"{where}: expected an array"]
    if origin is dict:
        return _type(f"{where}{{}}", prop.get("additionalProperties", {}), args[1], schema) if prop.get("type") == "object" else [f"{where}: expected a map"]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        type_ = schema["types"].get(f"mlstack:index:{annotation.__name__}", {})
        values = [v["value"] for v in type_.get("enum", [])]
        ok = prop.get("$ref") == f"#/types/mlstack:index:{annotation.__name__}" and values == [m.value for m in annotation]
        return [] if ok else [f"{where}: expected the enum {annotation.__name__}"]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        token = f"mlstack:index:{annotation.__name__}"
        if prop.get("$ref") != f"#/types/{token}":
            return [f"{where}: expected {token}"]
        type_ = schema["types"][token]
        expected = {f.alias or n: (f.is_required(), f.annotation, False) for n, f in annotation.model_fields.items()}
        return _object(where, type_.get("properties", {}), set(type_.get("required", [])), expected, schema)
    return [f"{where}: no rule for {annotation!r}"]


# -- helpers: the YAML example ------------------------------------------------------------------

_WHOLE_REF = re.compile(r"^\$\{([^}]+)\}$")
_ACCESS = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[\"([^\"]+)\"\]|\[(\d+)\]")


def _parse(expression: str) -> tuple[str, list]:
    head = re.match(r"[A-Za-z_][A-Za-z0-9_-]*", expression)
    assert head, expression
    rest, path = expression[head.end():], []
    for match in _ACCESS.finditer(rest):
        name, key, index = match.groups()
        path.append(int(index) if index is not None else (name or key))
    assert "".join(m.group(0) for m in _ACCESS.finditer(rest)) == rest, f"unsupported expression ${{{expression}}}"
    return head.group(0), path


def _refs(value: Any) -> list[tuple[str, list]]:
    if isinstance(value, str):
        assert "${" not in value or _WHOLE_REF.match(value), f"only whole ${{...}} references are supported here: {value!r}"
        match = _WHOLE_REF.match(value)
        return [_parse(match.group(1))] if match else []
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def _plain(value: Any, variables: dict[str, Any]) -> Any:
    """``value`` with variable references replaced; a resource reference is an error."""
    if isinstance(value, str) and _WHOLE_REF.match(value):
        name, path = _parse(_WHOLE_REF.match(value).group(1))
        assert name in variables and not path, f"{value} is not a plain variable"
        return _plain(variables[name], variables)
    if isinstance(value, dict):
        return {k: _plain(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, variables) for v in value]
    return value


def _order(resources: dict[str, Any]) -> list[str]:
    done: list[str] = []

    def visit(key: str) -> None:
        if key in done:
            return
        for name, _ in _refs(resources[key].get("properties", {})):
            if name in resources:
                visit(name)
        done.append(key)

    for key in resources:
        visit(key)
    return done


def run_yaml(provider, example: dict[str, Any]):
    """Run the YAML program's resources through ``provider.construct`` as the engine would:
    references resolved to the producing component's outputs, numbers as doubles."""
    import pulumi

    variables, resources = example.get("variables", {}), example["resources"]
    states: dict[str, dict[str, Any]] = {}

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and _WHOLE_REF.match(value):
            name, path = _parse(_WHOLE_REF.match(value).group(1))
            if name in variables:
                return resolve(variables[name])
            out: Any = states[name][path[0]]
            for step in path[1:]:
                out = pulumi.Output.from_input(out).apply(lambda v, s=step: v[s])
            return out
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def program() -> None:
        for key in _order(resources):
            resource = resources[key]
            result = provider.construct(resource.get("name", key), resource["type"], resolve(resource.get("properties", {})), None)
            states[key] = result.state

    graph = run_program(program, project="p", stack="churn-prod", config={}, answers=ANSWERS)
    return graph, states


def python_program(example: dict[str, Any]) -> None:
    """The YAML example written with mlstack.components, from the same values."""
    variables, resources = example["variables"], example["resources"]

    def args(key: str, *links: str) -> dict[str, Any]:
        return _plain({k: v for k, v in resources[key]["properties"].items() if k not in links}, variables)

    registry = api.ModelRegistry(resources["registry"]["name"], api.ModelRegistryArgs.model_validate(args("registry")))
    store = api.FeatureStore(resources["features"]["name"], api.FeatureStoreArgs.model_validate(args("features")))
    pipeline = api.TrainingPipeline(
        resources["training"]["name"],
        api.TrainingPipelineArgs.model_validate(
            {
                **args("training", "registryGroupName", "registryArn", "approvalMode", "crossAccountReaders", "inputUri", "inputReadStatements"),
                "registry": registry,
                "featureStore": store,
            }
        ),
    )
    endpoint = api.Endpoint(
        resources["scoring"]["name"],
        api.EndpointArgs.model_validate(
            {**args("scoring", "registryArn", "servingImage", "artifactsBucketArn", "artifactsKeyArn"), "registry": registry, "pipeline": pipeline}
        ),
    )
    api.Monitor(
        resources["monitor"]["name"],
        api.MonitorArgs.model_validate(
            {
                **args("monitor", "endpointName", "endpointArn", "endpointSpec", "dataCaptureUri", "endpointKmsKeyArn", "retrainPipelineArn", "retrainTriggerRoleArn"),
                "endpoint": endpoint,
                "retrainPipeline": pipeline,
            }
        ),
    )


def _subtree(graph, root: str) -> dict[str, dict[str, Any]]:
    records = {r.urn: r for r in graph}
    out = {}
    for urn, record in records.items():
        parent: Any = record
        while parent is not None and parent.urn != root:
            parent = records.get(parent.parent) if parent.parent else None
        if parent is not None:
            out[urn] = record.to_json()
    return out


def yaml_problems(schema: dict[str, Any], example: dict[str, Any]) -> list[str]:
    """What a Pulumi YAML program gets wrong against the package schema: unknown resource types,
    unknown or missing properties, values of the wrong type, another resource's output given to
    a plain property, outputs the referenced component does not have."""
    variables, resources = example.get("variables", {}), example["resources"]
    problems: list[str] = []

    def output_exists(where: str, name: str, path: list) -> None:
        token = resources[name]["type"]
        if token.startswith("mlstack:") and path and path[0] not in schema["resources"][token]["properties"]:
            problems.append(f"{where}: {token} has no output {path[0]}")

    def check(where: str, prop: dict[str, Any], value: Any) -> None:
        if isinstance(value, str) and _WHOLE_REF.match(value):
            name, path = _parse(_WHOLE_REF.match(value).group(1))
            if name in variables:
                return check(where, prop, variables[name])
            if prop.get("plain"):
                problems.append(f"{where}: takes a plain value, not {value}")
            return output_exists(where, name, path)
        if "$ref" in prop:
            if prop["$ref"] == "pulumi.json#/Any":
                return None
            type_ = schema["types"][prop["$ref"].removeprefix("#/types/")]
            if "enum" in type_:
                if value not in [v["value"] for v in type_["enum"]]:
                    problems.append(f"{where}: {value!r} is not one of {[v['value'] for v in type_['enum']]}")
                return None
            return check_object(where, type_.get("properties", {}), type_.get("required", []), value)
        kind = prop.get("type")
        if kind == "array":
            if not isinstance(value, list):
                return problems.append(f"{where}: expected array, got {value!r}")
            for i, item in enumerate(value):
                check(f"{where}[{i}]", prop["items"], item)
        elif kind == "object":
            if not isinstance(value, dict):
                return problems.append(f"{where}: expected object, got {value!r}")
            for k, item in value.items():
                check(f"{where}.{k}", prop.get("additionalProperties", {}), item)
        elif kind:
            ok = {
                "string": isinstance(value, str),
                "integer": isinstance(value, int) and not isinstance(value, bool),
                "number": isinstance(value, (int, float)) and not isinstance(value, bool),
                "boolean": isinstance(value, bool),
            }[kind]
            if not ok:
                problems.append(f"{where}: expected {kind}, got {value!r}")
        return None

    def check_object(where: str, properties: dict, required: list, value: Any) -> None:
        if isinstance(value, str) and _WHOLE_REF.match(value):
            return check(where, {"type": "object"}, value)
        if not isinstance(value, dict):
            problems.append(f"{where}: expected an object, got {value!r}")
            return
        for key in value:
            if key not in properties:
                problems.append(f"{where}: unknown property {key}")
        for key in required:
            if key not in value:
                problems.append(f"{where}: required property {key} is missing")
        for key, item in value.items():
            if key in properties:
                check(f"{where}.{key}", properties[key], item)

    for key, resource in resources.items():
        token = resource["type"]
        if token not in schema["resources"]:
            problems.append(f"{key}: unknown resource type {token}")
            continue
        spec = schema["resources"][token]
        check_object(key, spec["inputProperties"], spec.get("requiredInputs", []), resource.get("properties", {}))
    for key, value in example.get("outputs", {}).items():
        for name, path in _refs(value):
            if name in resources:
                output_exists(f"outputs.{key}", name, path)
    return problems
