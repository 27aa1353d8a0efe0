"""Hostile stacks against the gate: ``mlstack check`` cannot be talked out of its verdict.

A growing regression file. Each stack here is a Python program that registers a resource the
pack must fail (a bucket with neither encryption nor a public access block) and then tries to
change the verdict from inside: replacing the policies, the checker, the printer, builtins,
``sys.exit``. The program runs in a worker process, so none of it reaches the process that
judges. Then the ways the worker itself can fail — an error, a crash, no plan, garbage, a
forged or malformed plan, a hang — each end with exit 2 and a message, never "passed". Last,
transforms the offline engine cannot run are reported by ``mlstack-transforms-evaluated``.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
import yaml

from conftest import BASELINE
from mlstack.engine import isolation, planfile
from mlstack.engine.graph import Plan
from mlstack.engine.planfile import PlanFileError, loads, plan_from_json
from mlstack.engine.records import ResourceRecord


S3_PUBLIC = "mlstack-s3-bucket-blocks-public-access"
TRANSFORMS = "mlstack-transforms-evaluated"
STACK = "churn-dev"
BUCKET_URN = f"urn:pulumi:{STACK}::hostile::aws:s3/bucket:Bucket::open-bucket"

PROLOGUE = """\
import os, sys
import pulumi
import pulumi_aws as aws

open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ran-in"), "w").write(str(os.getpid()))
aws.s3.Bucket("open-bucket", tags={"mlstack:team": "churn"})
"""


def project(tmp_path: Path, program: str) -> Path:
    """A Pulumi project whose program registers an open bucket and then runs ``program``."""
    (tmp_path / "Pulumi.yaml").write_text("name: hostile\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(PROLOGUE + textwrap.dedent(program))
    stack = tmp_path / f"Pulumi.{STACK}.yaml"
    stack.write_text(yaml.safe_dump({"config": BASELINE}, sort_keys=False))
    return stack


def check_json(cli, stack: Path) -> tuple[int, dict | None, str]:
    code, out, err = cli("check", str(stack), "--format", "json")
    try:
        data = json.loads(out)
    except ValueError:
        data = None
    return code, data, err


def assert_fails_on_the_bucket(code: int, data: dict | None, err: str) -> None:
    assert code == 1, err
    assert data is not None and data["passed"] is False
    assert {(v["policy"], v["urn"]) for v in data["violations"] if v["enforcementLevel"] == "mandatory"} >= {(S3_PUBLIC, BUCKET_URN)}


# --- the program cannot reach the judging process --------------------------------------------------

TAMPERING = {
    "policies-replaced-by-no-ops": """
        from mlstack.policy import pack
        for policy in pack.POLICIES:
            policy.validate = lambda *args, **kwargs: None
        pack.POLICIES.clear()
        """,
    "checker-returns-a-pass": """
        import mlstack.policy.check as check
        def passing(plan, **kwargs):
            return check.Report(stack=plan.stack, project=plan.project, environment="dev", resources=0, settings={})
        check.check_plan = passing
        check._check = lambda *args, **kwargs: passing(args[0])
        check.check_stack = lambda *args, **kwargs: check.Report(stack="x", project="x", environment="dev", resources=0, settings={})
        """,
    "verdict-and-printer-forged": """
        import mlstack.policy.check as check, mlstack.policy.cli as cli
        check.Report.passed = property(lambda self: True)
        check.Report.mandatory = property(lambda self: [])
        cli.render_text = lambda report: "churn-dev (dev): 0 mandatory, 0 advisory violations; passed"
        cli.cmd_check = lambda args: 0
        """,
    "builtins-and-exit-replaced": """
        import builtins, json
        builtins.print = lambda *args, **kwargs: None
        sys.exit = lambda *args: None
        json.dumps = lambda *args, **kwargs: '{"passed": true}'
        """,
    "modules-swapped-in-sys-modules": """
        import types
        fake = types.ModuleType("mlstack.policy.pack")
        fake.POLICIES = []
        sys.modules["mlstack.policy.pack"] = fake
        sys.modules["mlstack.policy.check"] = fake
        """,
    "prints-a-forged-verdict": """
        print("churn-dev (dev): 19 policies over 1 resources: 0 mandatory, 0 advisory violations; passed")
        print('{"passed": true, "violations": []}')
        """,
}


@pytest.mark.parametrize("trick", sorted(TAMPERING))
def test_program_that_tampers_with_the_checker_still_fails(cli, tmp_path, trick):
    stack = project(tmp_path, TAMPERING[trick])
    code, data, err = check_json(cli, stack)
    assert_fails_on_the_bucket(code, data, err)
    # It did run, in another process: nothing it did could touch this one.
    assert int((tmp_path / "ran-in").read_text()) != os.getpid()


def test_program_output_goes_to_stderr_and_stdout_stays_the_report(cli, tmp_path):
    stack = project(tmp_path, TAMPERING["prints-a-forged-verdict"])
    code, out, err = cli("check", str(stack), "--format", "json")
    assert code == 1 and json.loads(out)["passed"] is False
    assert "0 mandatory, 0 advisory violations; passed" in err


def test_text_report_names_the_violation_and_fails(cli, tmp_path):
    stack = project(tmp_path, TAMPERING["verdict-and-printer-forged"])
    code, out, err = cli("check", str(stack))
    assert code == 1, err
    assert f"[mandatory] {S3_PUBLIC}" in out and out.splitlines()[-1].endswith("FAILED")


# --- a worker that fails hands back no plan, and the gate says so (exit 2) --------------------------

FAILURES = {
    "program-raises": ("raise RuntimeError('boom')\n", "the stack's program failed: RuntimeError: boom (at "),
    "program-calls-sys-exit-0": ("sys.exit(0)\n", "the program called sys.exit(0) before it finished"),
    "exits-0-without-a-plan": ("os._exit(0)\n", "exited with code 0 and wrote no plan"),
    "crashes-with-an-exit-code": ("os._exit(3)\n", "exited with code 3 and wrote no plan"),
    "killed-by-a-signal": ("import signal; os.kill(os.getpid(), signal.SIGKILL)\n", "was killed by signal 9 and wrote no plan"),
    "writes-garbage-as-the-plan": ("open(sys.argv[2], 'w').write('passed'); os._exit(0)\n", "is not valid JSON"),
    "writes-a-plan-of-nothing": (
        "import json; open(sys.argv[2], 'w').write(json.dumps({'plan': {'stack': 'churn-dev', 'project': 'hostile'}})); os._exit(0)\n",
        "is not a plan: the document must have the keys",
    ),
    "writes-another-stacks-plan": (
        "import json; open(sys.argv[2], 'w').write(json.dumps({'plan': {'stack': 'other', 'project': 'hostile', 'resources': []}})); os._exit(0)\n",
        "must be the plan of stack 'churn-dev'",
    ),
    "writes-nan": (
        "open(sys.argv[2], 'w').write('{\"plan\": {\"stack\": \"churn-dev\", \"project\": \"hostile\", \"resources\": [], \"invokeTransforms\": NaN}}'); os._exit(0)\n",
        "NaN is not a JSON number",
    ),
    "writes-a-plan-and-fails": (
        "import json; open(sys.argv[2], 'w').write(json.dumps({'plan': {'stack': 'churn-dev', 'project': 'hostile', 'resources': []}})); os._exit(1)\n",
        "exited with code 1 after writing a plan",
    ),
    "nan-input": ("aws.cloudwatch.MetricAlarm('a', comparison_operator='GreaterThanThreshold', evaluation_periods=1, threshold=float('nan'))\n",
                  "input threshold is not a finite number"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_worker_failure_is_a_clear_error_never_a_pass(cli, tmp_path, case):
    program, message = FAILURES[case]
    code, out, err = cli("check", str(project(tmp_path, program)))
    assert code == 2, out + err
    assert message in err
    assert "passed" not in out and "Traceback" not in err


def test_a_program_that_never_finishes_is_stopped(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(isolation, "PLAN_TIMEOUT_SECONDS", 3.0)
    code, out, err = cli("check", str(project(tmp_path, "import time; time.sleep(120)\n")))
    assert code == 2 and "did not finish planning within 3 s" in err


def test_an_oversized_plan_is_refused(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(isolation, "MAX_PLAN_BYTES", 2000)
    code, out, err = cli("check", str(project(tmp_path, "for i in range(20): aws.s3.Bucket(f'b{i}')\n")))
    assert code == 2 and "more than the 2000 a plan may take" in err


def test_a_bad_config_key_in_the_program_is_reported_at_its_key(cli, tmp_path):
    # A ConfigError raised in the worker arrives whole: title, file, key, value.
    program = """
        from mlstack.errors import ConfigError, Problem
        raise ConfigError([Problem("mlstack:models[0].name", "must be lower case", value="Bad", file="Pulumi.churn-dev.yaml", line=7)])
        """
    code, _, err = cli("check", str(project(tmp_path, program)))
    assert code == 2
    assert "invalid mlstack configuration: 1 problem" in err
    assert "Pulumi.churn-dev.yaml:7: mlstack:models[0].name: must be lower case (got 'Bad')" in err


# --- the plan file is read as untrusted data --------------------------------------------------------


def plan_data(**changes) -> dict:
    record = ResourceRecord(
        urn=BUCKET_URN, type="aws:s3/bucket:Bucket", name="open-bucket", parent=None, dependencies=[], custom=True,
        inputs={"bucket": "b"}, property_dependencies={"bucket": []},
    )  # fmt: skip
    data = Plan(project="hostile", stack=STACK, resources=[record]).to_json()
    data["resources"][0].update(changes)
    return data


def read(data) -> Plan:
    return plan_from_json(data, source="the plan", stack=STACK, project="hostile")


def test_a_plan_round_trips_as_data():
    plan = read(json.loads(json.dumps(plan_data(transforms=["stack"]))))
    [record] = plan.resources
    assert (record.urn, record.inputs, record.property_dependencies, record.transforms) == (BUCKET_URN, {"bucket": "b"}, {"bucket": []}, ["stack"])


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"custom": "yes"}, "resources[0].custom must be true or false"),
        ({"inputs": []}, "resources[0].inputs must be an object"),
        ({"dependencies": [1]}, "resources[0].dependencies must be an array of URNs"),
        ({"propertyDependencies": {"bucket": "urn"}}, "propertyDependencies.bucket must be an array of URNs"),
        ({"urn": "urn:pulumi:other::hostile::aws:s3/bucket:Bucket::open-bucket"}, "resources[0].urn must be urn:pulumi:churn-dev::hostile::"),
        ({"type": "aws:s3/bucketV2:BucketV2"}, "resources[0].urn must be"),
        ({"parent": "urn:pulumi:churn-dev::hostile::x:y:Z::nowhere"}, "resources[0].parent must be the URN of a resource of the plan"),
        ({"transforms": ["anything"]}, "resources[0].transforms must list some of"),
        ({"passed": True}, "unexpected ['passed']"),
    ],
)
def test_a_malformed_resource_is_refused_naming_the_field(changes, message):
    with pytest.raises(PlanFileError, match=None) as err:
        read(plan_data(**changes))
    assert message in str(err.value)


def test_a_plan_carries_where_its_components_were_declared():
    data = plan_data()
    data["declaredAt"] = {BUCKET_URN: "mlstack:models[0].training"}
    assert read(json.loads(json.dumps(data))).declared_at == {BUCKET_URN: "mlstack:models[0].training"}
    del data["declaredAt"]
    assert read(data).declared_at == {}  # optional: a plan without it has no entries


@pytest.mark.parametrize(
    "declared, message",
    [
        ([], "declaredAt must be an object"),
        ({"urn:pulumi:churn-dev::hostile::x:y:Z::elsewhere": "mlstack:endpoints[0]"}, "declaredAt must be keyed by URNs of resources of the plan"),
        ({BUCKET_URN: "endpoints[0]"}, "must be a stack-file key path such as mlstack:endpoints[0]"),
        ({BUCKET_URN: "mlstack:endpoints[0]\n::error file=x::forged"}, "must be a stack-file key path"),
        ({BUCKET_URN: "mlstack:" + "a" * 300}, "at most 200 characters"),
        ({BUCKET_URN: 7}, "must be a stack-file key path"),
    ],
)
def test_a_malformed_declared_at_is_refused_naming_the_field(declared, message):
    data = plan_data()
    data["declaredAt"] = declared
    with pytest.raises(PlanFileError) as err:
        read(data)
    assert message in str(err.value)


def test_duplicate_urns_and_keys_and_deep_nesting_are_refused():
    data = plan_data()
    data["resources"].append(dict(data["resources"][0]))
    with pytest.raises(PlanFileError, match="appears twice"):
        read(data)
    with pytest.raises(PlanFileError, match="the key 'plan' appears twice"):
        loads('{"plan": 1, "plan": 2}', source="the plan")
    deep = '{"a": ' * (planfile.MAX_DEPTH + 1) + "1" + "}" * (planfile.MAX_DEPTH + 1)
    with pytest.raises(PlanFileError, match="nests deeper than"):
        loads(deep, source="the plan")
    with pytest.raises(PlanFileError, match="nests deeper than"):
        loads("[" * 100_000 + "]" * 100_000, source="the plan")


def test_too_many_resources_are_refused(monkeypatch):
    monkeypatch.setattr(planfile, "MAX_RESOURCES", 0)
    with pytest.raises(PlanFileError, match="more than the 0 a plan may hold"):
        read(plan_data())


# --- transforms the offline engine cannot run ------------------------------------------------------


def test_resources_with_transforms_are_reported_because_offline_cannot_run_them(cli, tmp_path):
    program = """
        def strip_encryption(args):
            return None  # at deployment this could rewrite any input of any later resource

        class Store(pulumi.ComponentResource):
            def __init__(self, name, opts=None):
                super().__init__("hostile:index:Store", name, None, opts)
                aws.s3.Bucket(f"{name}-data", opts=pulumi.ResourceOptions(parent=self))

        Store("store", opts=pulumi.ResourceOptions(transforms=[strip_encryption]))
        pulumi.runtime.register_resource_transform(strip_encryption)
        aws.sns.Topic("alerts")
        pulumi.runtime.register_invoke_transform(lambda args: None)
        """
    code, data, err = check_json(cli, project(tmp_path, program))
    assert code == 1, err
    reported = {v["name"]: v["message"] for v in data["violations"] if v["policy"] == TRANSFORMS}
    assert set(reported) == {"store", "store-data", "alerts", None}
    assert "its own transforms= option" in reported["store"]
    assert "a transforms= option of a component it belongs to" in reported["store-data"]
    assert "a stack transform" in reported["alerts"]
    assert "1 invoke transform(s)" in reported[None]
    assert "open-bucket" not in reported  # registered before any transform: judged as it deploys
