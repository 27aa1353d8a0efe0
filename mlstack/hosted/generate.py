"""Writes :mod:`mlstack.hosted.types`, the input types of mlstack's component package, from the
specs and the Python arguments of the five components.

One definition per input: the pydantic models of :mod:`mlstack.specs` (and the components'
``*Args``) validate stack files, drive ``mlstack schema`` and are what Python stacks pass.
Other languages see the same fields through Pulumi's component analyzer, which reads plain
annotated classes only, so this module translates each model into one::

    python -m mlstack.hosted.generate           # rewrite mlstack/hosted/types.py
    python -m mlstack.hosted.generate --check   # exit 1 when it is out of date

The translation keeps names, required-ness and docstrings; a ``Literal`` becomes its value type
and a ``Union`` becomes ``Any`` (both with the allowed values in the description), because the
analyzer refuses them; pydantic still checks every value when the component is built. Python
arguments other languages cannot express as they are (another component object, or a value
another resource produces) are replaced by the inputs :data:`LINKS` lists.
"""

import argparse
import inspect
import sys
import types
import typing
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Optional

from pulumi.provider.experimental.util import camel_case
from pydantic import BaseModel

from . import _api

__all__ = ["Link", "LINKS", "ARGS", "render", "TYPES_FILE", "main"]

#: Where the generated module lives.
TYPES_FILE = Path(__file__).with_name("types.py")


@dataclass(frozen=True)
class Link:
    """An input of the package that stands for (part of) a Python argument."""

    name: str
    """Python name of the input (camelCase in the schema)."""
    type: Any
    """Its type: a builtin, a spec model or an enum, translated like any spec field."""
    required: bool
    """Whether the input is required."""
    doc: str
    """Its description."""
    input: bool = False
    """``pulumi.Input[...]``: another resource may produce it (an ARN, a URI)."""


def _input(name: str, doc: str, *, type: Any = str, required: bool = False) -> Link:
    return Link(name, type, required, doc, input=True)


#: The Python arguments the package replaces, by hosted args class: Python field -> inputs.
#: A field mapped to ``()`` is not offered: other languages give the bring-your-own inputs
#: beside it (an Endpoint's artifactsBucketArn instead of the pipeline object).
LINKS: dict[str, dict[str, tuple[Link, ...]]] = {
    "TrainingPipelineArgs": {
        "registry": (
            Link(
                "registry_group_name",
                str,
                True,
                "The model package group versions are registered in: the groupName given to the model's ModelRegistry "
                "(a plain string, used in the names of the pipeline's resources).",
            ),
            _input("registry_arn", "The ARN of that group (the ModelRegistry's arn output).", required=True),
            Link(
                "approval_mode",
                _api.ModelRegistryArgs.model_fields["approval_mode"].annotation,
                False,
                "The approvalMode given to that ModelRegistry (default manual): new versions are registered "
                "PendingManualApproval (manual) or Approved (automatic).",
            ),
            Link(
                "cross_account_readers",
                Optional[list[str]],
                False,
                "The crossAccountReaders given to that ModelRegistry: accounts that may read the artifacts under models/, "
                "decrypt them through S3 and pull the serving image (nothing else), so they can deploy its versions.",
            ),
        ),
        "feature_store": (),
        "input_uri": (
            _input(
                "input_uri",
                "Input data of preprocessing when training.input is not set: a dataset URI, or with training.featureGroup "
                "that group's offline store (the FeatureStore's offlineStoreUris output).",
            ),
        ),
        "tracking_server_arn": (
            _input(
                "tracking_server_arn",
                "An MLflow tracking server's ARN: the training job gets it as MLFLOW_TRACKING_URI and MLFLOW_TRACKING_ARN, "
                "the pipeline's role may log to it, and each registered version records the run id its evaluation report "
                "names (mlflow.run_id) as mlstack:mlflow-run-id.",
            ),
        ),
        "input_read_statements": (
            _input(
                "input_read_statements",
                "IAM policy statements that let the pipeline read inputUri when it is not an S3 URI the pipeline can "
                "scope itself (the FeatureStore's offlineStoreReadStatements output).",
                type=list[dict[str, Any]],
            ),
        ),
    },
    "EndpointArgs": {
        "registry": (
            _input(
                "registry_arn",
                "The ARN of the model's package group (the ModelRegistry's arn output): the endpoint serves version "
                "modelVersion of it (default: spec.modelVersion when pinned), and a registry shadow its "
                "spec.shadow.modelVersion.",
            ),
        ),
        "pipeline": (),
        "model_package_arn": (_input("model_package_arn", "Instead of registryArn: the model package served."),),
        "shadow_package_arn": (_input("shadow_package_arn", "Instead of registryArn: the registry shadow's model package."),),
        "artifacts_bucket_arn": (
            _input(
                "artifacts_bucket_arn",
                "With no spec.artifactsUri, the bucket holding the registered versions' artifacts (the "
                "TrainingPipeline's artifactsBucketArn output).",
            ),
        ),
        "artifacts_key_arn": (
            _input(
                "artifacts_key_arn",
                "The KMS key those artifacts are encrypted with (the TrainingPipeline's keyArn output), for kms:Decrypt.",
            ),
        ),
    },
    "MonitorArgs": {
        # The gates are mlstack:models[].gates, whose threshold is a number or "last-approved" (a
        # union other languages cannot take): they give quality.thresholds instead.
        "model_gates": (),
        "endpoint": (
            Link(
                "endpoint_name",
                str,
                True,
                "The SageMaker endpoint to watch: the endpointName given to its Endpoint (a plain string: the "
                "alarms' metric dimensions are built from it).",
            ),
            _input(
                "endpoint_arn",
                "The Endpoint's arn output: the monitor's resources that name the endpoint then wait for it, as they do "
                "in Python (where the monitor reads the Endpoint object).",
            ),
            Link(
                "endpoint_spec",
                _api.EndpointArgs.model_fields["spec"].annotation,
                True,
                "The spec given to that Endpoint (its variant, instance type, data capture and backend decide "
                "which alarms apply).",
            ),
            _input(
                "data_capture_uri",
                "Where the endpoint captures its requests (the Endpoint's dataCaptureUri output); required for drift "
                "when the endpoint captures into its own bucket.",
            ),
            _input(
                "endpoint_kms_key_arn",
                "The KMS key the endpoint encrypts captured requests with (the Endpoint's kmsKeyArn output), which "
                "the drift job decrypts them with; required for drift unless endpointSpec.kmsKeyArn names it.",
            ),
        ),
        "retrain_pipeline": (
            _input(
                "retrain_pipeline_arn",
                "The TrainingPipeline retrain starts when retrain.pipelineArn is not set (its arn output); give "
                "retrainTriggerRoleArn with it.",
            ),
            _input(
                "retrain_trigger_role_arn",
                "The TrainingPipeline's triggerRoleArn output, given with retrainPipelineArn (the monitor starts the pipeline "
                "through its retraining cooldown, with a role of its own).",
            ),
        ),
    },
}

#: The hosted args classes and the Python arguments each mirrors, in the order they are written.
ARGS: dict[str, type[BaseModel]] = {
    "ModelRegistryArgs": _api.ModelRegistryArgs,
    "FeatureStoreArgs": _api.FeatureStoreArgs,
    "TrainingPipelineArgs": _api.TrainingPipelineArgs,
    "EndpointArgs": _api.EndpointArgs,
    "MonitorArgs": _api.MonitorArgs,
}

_SCALARS = {str: "str", int: "int", float: "float", bool: "bool"}
_WORDS = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}

_HEADER = '''"""Input types of mlstack's component package: GENERATED by ``python -m mlstack.hosted.generate``
from mlstack.specs and the components' Python arguments; do not edit.

Plain annotated classes, as Pulumi's component analyzer reads them (no ``from __future__ import
annotations``, no Union or Literal: a Literal is its value type, a Union is Any, with the allowed
values in the description). pydantic validates every value when the component is built.
"""

'''


class GenerationError(Exception):
    """A Python argument the generator cannot translate (add it to LINKS)."""


@dataclass
class _Generator:
    classes: dict[str, str] = field(default_factory=dict)
    sources: dict[str, type] = field(default_factory=dict)
    enums: dict[str, set[str]] = field(default_factory=dict)
    uses_input: bool = False

    # -- types --------------------------------------------------------------------------------

    def annotation(self, tp: Any, notes: list[str], where: str, *, allow_any: bool = False) -> str:
        """The annotation (source text) of ``tp``; notes on allowed values go to ``notes``.
        ``Any`` is refused unless ``allow_any``: in the components' arguments it marks a
        component object or a pulumi.Input, which LINKS must replace."""
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            return self.annotation(typing.get_args(tp)[0], notes, where, allow_any=allow_any)
        if tp is Any:
            if allow_any:
                return "Any"
            raise GenerationError(f"{where} takes Any (an object or a pulumi.Input): say in LINKS what other languages give instead")
        if tp in _SCALARS:
            return _SCALARS[tp]
        if origin is typing.Literal:
            values = typing.get_args(tp)
            notes.append("One of: " + ", ".join(str(v) for v in values) + ".")
            kinds = {type(v) for v in values}
            kind = kinds.pop() if len(kinds) == 1 else None
            return _SCALARS[kind] if kind in _SCALARS and kind is not bool else "Any"
        if origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(options) == 1:
                return self.annotation(options[0], notes, where, allow_any=allow_any)
            notes.append("Either " + " or ".join(_describe(o) for o in options) + ".")
            return "Any"
        if origin is list:
            (item,) = typing.get_args(tp)
            return f"list[{self.annotation(item, notes, where, allow_any=allow_any)}]"
        if origin is dict:
            key, value = typing.get_args(tp)
            if self.annotation(key, [], where) != "str":
                raise GenerationError(f"{where}: map keys must be strings, not {key!r}")
            return f"dict[str, {self.annotation(value, notes, where, allow_any=allow_any)}]"
        if isinstance(tp, type) and issubclass(tp, Enum):
            self.enums.setdefault(tp.__module__, set()).add(tp.__name__)
            return tp.__name__
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return self.model(tp)
        raise GenerationError(f"{where} has type {tp!r}, which other languages cannot express; add a replacement to LINKS")

    # -- classes ------------------------------------------------------------------------------

    def model(self, model: type[BaseModel]) -> str:
        name = model.__name__
        known = self.sources.get(name)
        if known is not None:
            if known is not model:
                raise GenerationError(f"two models are called {name}: {known.__module__} and {model.__module__}")
            return name
        self.sources[name] = model
        lines = [self._attribute(fname, f, model) for fname, f in model.model_fields.items()]
        self.classes[name] = _class(name, _doc(model), lines)
        return name

    def args(self, name: str, model: type[BaseModel], links: dict[str, tuple[Link, ...]]) -> None:
        lines = []
        for fname, f in model.model_fields.items():
            if fname in links:
                lines += [self._link(link, model, fname) for link in links[fname]]
                continue
            lines.append(self._attribute(fname, f, model))
        unknown = set(links) - set(model.model_fields)
        if unknown:
            raise GenerationError(f"LINKS names {sorted(unknown)} for {model.__name__}, which has no such fields")
        component = name.removesuffix("Args")
        doc = f"Inputs of {component} in other languages: the fields of mlstack.components.{model.__name__}, camelCase."
        objects = [f for f, group in links.items() if [link.name for link in group] != [f]]
        if objects:
            ways = [
                f"instead of {f}, {' and '.join(camel_case(link.name) for link in links[f]) or 'the bring-your-own inputs beside it'}"
                for f in objects
            ]
            doc += "\n\nPython passes objects other languages cannot: " + "; ".join(ways) + "."
        self.classes[name] = _class(name, doc, lines)

    def _attribute(self, fname: str, f: Any, owner: type) -> str:
        notes: list[str] = []
        text = self.annotation(f.annotation, notes, f"{owner.__name__}.{fname}")
        if not f.is_required():
            text = f"Optional[{text}]"
        return _attribute(fname, text, " ".join(filter(None, [(f.description or "").strip(), *notes])))

    def _link(self, link: Link, owner: type, fname: str) -> str:
        notes: list[str] = []
        text = self.annotation(link.type, notes, f"{owner.__name__}.{fname} -> {link.name}", allow_any=True)
        if link.input:
            self.uses_input = True
            text = f"pulumi.Input[{text}]"
        if not link.required:
            text = f"Optional[{text}]"
        return _attribute(link.name, text, " ".join([link.doc, *notes]))

    # -- the module ---------------------------------------------------------------------------

    def text(self) -> str:
        imports = ["from typing import Any, Optional", ""]
        if self.uses_input:
            imports += ["import pulumi", ""]
        for module in sorted(self.enums):
            imports.append(f"from {module} import {', '.join(sorted(self.enums[module]))}")
        names = ", ".join(f'"{n}"' for n in self.classes)
        body = "\n\n".join(self.classes.values())
        return _HEADER + "\n".join(imports) + f"\n\n__all__ = [{names}]\n\n\n" + body


def _describe(tp: Any) -> str:
    if typing.get_origin(tp) is typing.Annotated:
        return _describe(typing.get_args(tp)[0])
    if typing.get_origin(tp) is typing.Literal:
        return " or ".join(repr(v) for v in typing.get_args(tp))
    return _WORDS.get(tp, getattr(tp, "__name__", str(tp)))


def _doc(model: type) -> str:
    return inspect.cleandoc(model.__doc__ or model.__name__)


def _quote(text: str) -> str:
    """``text`` as a triple-quoted string literal whose value is ``text``."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text = text[:-1] + '\\"'
    return f'"""{text}"""'


def _attribute(name: str, annotation: str, doc: str) -> str:
    line = f"    {name}: {annotation}"
    return f"{line}\n    {_quote(doc)}" if doc else line


def _class(name: str, doc: str, attributes: list[str]) -> str:
    body = "\n".join(attributes) if attributes else "    pass"
    doc = "\n".join(f"    {line}" if line else "" for line in doc.splitlines()).lstrip()
    return f"class {name}:\n    {_quote(doc)}\n\n{body}\n"


def render() -> str:
    """The text of :mod:`mlstack.hosted.types` for the current specs and components."""
    generator = _Generator()
    for name, model in ARGS.items():
        generator.args(name, model, LINKS.get(name, {}))
    return generator.text()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlstack.hosted.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when types.py is out of date instead of writing it")
    options = parser.parse_args(argv)
    text = render()
    current = TYPES_FILE.read_text() if TYPES_FILE.exists() else ""
    if options.check:
        if current != text:
            print(f"{TYPES_FILE} is out of date: run python -m mlstack.hosted.generate", file=sys.stderr)
            return 1
        return 0
    if current != text:
        TYPES_FILE.write_text(text)
        print(f"wrote {TYPES_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
