"""A bad argument to a component in a Python stack is one error type, ComponentError: it names the
component, the argument, what is wrong and the fix; the CLI prints it and exits 2, and under
`pulumi up` it is a pulumi.RunError (the Python language host prints a RunError's message
without a traceback: pulumi/pulumi sdk/python/cmd/pulumi-language-python-exec)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pulumi
import pytest
import yaml

from conftest import BASELINE
from mlstack.components import ComponentError, Endpoint, EndpointArgs, ModelRegistryArgs
from mlstack.components.base import Component
from mlstack.engine import run_program
from mlstack.lookups import OfflineAnswers
from mlstack.specs.endpoint import EndpointSpec

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-serve@sha256:" + "ab" * 32
SPEC = {"name": "scoring", "model": "churn-xgb", "image": IMAGE, "modelDataUrl": "s3://example-churn-models/churn-xgb/model.tar.gz", "instanceType": "ml.m5.large"}

PROGRAM = """
import pulumi
from mlstack.components import Endpoint, EndpointArgs
from mlstack.specs.endpoint import EndpointSpec

spec = EndpointSpec.model_validate({spec!r})
Endpoint("scoring", EndpointArgs(spec=spec, endpoint_name="churn-scoring", deployed_variants=["AllTraffic"]))
"""


def _python_stack(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: py\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent(PROGRAM.format(spec=SPEC)))
    path = tmp_path / "Pulumi.churn-dev.yaml"
    path.write_text(yaml.safe_dump({"config": dict(BASELINE)}))
    return path


def _run(program):
    return run_program(program, project="p", stack="s", config={}, answers=OfflineAnswers(account_id="210987654321", region="eu-west-1"))


EXPECTED = (
    "Endpoint 'scoring': argument deployed_variants: variant 'primary' would replace the deployed variant(s) 'AllTraffic' "
    "of endpoint 'scoring'; SageMaker skips the rollout and rollback settings when variant names change"
)


@pytest.mark.parametrize("command", ["plan", "check"])
def test_a_bad_argument_in_a_python_stack_is_one_line_and_exit_2(cli, tmp_path, command):
    code, out, err = cli(command, str(_python_stack(tmp_path)))
    assert code == 2, out + err
    assert "Traceback" not in err and "internal error" not in err
    assert EXPECTED in err


def test_the_error_names_component_name_argument_message_and_fix():
    caught: list[ComponentError] = []

    def program() -> None:
        try:
            kserve = EndpointSpec.model_validate({"name": "scoring", "model": "churn-xgb", "backend": "kserve",
                                                  "kserve": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://m/x/"}})
            Endpoint("scoring", EndpointArgs(spec=kserve, endpoint_name="churn-scoring"))
        except ComponentError as exc:
            caught.append(exc)

    graph = _run(program)
    [error] = caught
    assert isinstance(error, pulumi.RunError)  # `pulumi up` prints its message, no traceback
    assert (error.component, error.name, error.argument) == ("Endpoint", "scoring", "spec.backend")
    assert error.fix == "build it with mlstack.components.InferenceService"
    assert str(error) == "Endpoint 'scoring': argument spec.backend: endpoint 'scoring' has backend kserve; build it with mlstack.components.InferenceService"
    assert graph.by_type("mlstack:index:Endpoint") == []  # refused before anything was registered


def test_args_refused_by_pydantic_are_the_same_error_type():
    with pytest.raises(ComponentError) as refused:
        EndpointArgs(spec=EndpointSpec.model_validate(SPEC), endpoint_name="churn scoring")
    assert (refused.value.component, refused.value.argument) == ("Endpoint", "endpoint_name")
    assert "(got 'churn scoring')" in str(refused.value)
    with pytest.raises(ComponentError, match="ModelRegistry: argument group_name: is required; pass group_name"):
        ModelRegistryArgs()


def test_every_problem_is_reported_at_once():
    with pytest.raises(ComponentError) as refused:
        ModelRegistryArgs(group_name="bad_name", cross_account_readers=["1"])
    assert sorted(p.argument for p in refused.value.problems) == ["cross_account_readers[0]", "group_name"]
    assert len(str(refused.value).splitlines()) == 2


def test_errors_that_are_not_about_arguments_keep_their_type():
    """Only bad input is converted: a bug in a component keeps its own error and traceback."""

    class Broken(Component, token="test:index:Broken"):
        def __init__(self, name: str, opts=None) -> None:
            super().__init__(name, opts)
            {}["missing"]

    def program() -> None:
        Broken("b")

    with pytest.raises(KeyError):
        _run(program)
