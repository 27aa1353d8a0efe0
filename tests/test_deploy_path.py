"""The first real deployment: what the Pulumi CLI installs, a brand-new stack with an empty
registry, and deploy-time lookups that use the stack's own AWS settings.

What the CLI does was read from pulumi/pulumi: the Python language host's InstallDependencies
passes ``req.Info.ProgramDirectory`` as the working directory to the pip toolchain
(sdk/python/toolchain/pip.go), which runs ``python -m pip install -r requirements.txt`` there and
returns early, without a word, when ``<program dir>/requirements.txt`` does not exist. The
virtualenv option is resolved against the project root.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from conftest import BASELINE, ROOT

MODEL = "aws:sagemaker/model:Model"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
MONITOR = "mlstack:index:Monitor"
DIGEST = "sha256:" + "ab" * 32
IMAGE = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-serve@{DIGEST}"
GROUP = "churn-churn-xgb"


# -- 1. dependencies where the CLI looks ---------------------------------------------------------


def program_directory(root: Path) -> Path:
    """The program directory as the Pulumi CLI derives it: the project root joined with Pulumi.yaml's main."""
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    return (root / (project.get("main") or ".")).resolve()


def test_program_directory_has_the_requirements_the_language_host_installs():
    program = program_directory(ROOT)
    assert program == ROOT / "stacks"
    requirements = [line.strip() for line in (program / "requirements.txt").read_text().splitlines() if line.strip() and not line.startswith("#")]
    # pip resolves it with the program directory as working directory: `..` is the repository.
    [editable] = [r for r in requirements if r.startswith("-e ")]
    target = editable[3:].split("[", 1)[0]
    assert (program / target / "pyproject.toml").resolve() == ROOT / "pyproject.toml"
    assert "[pipelines]" in editable, "pulumi up builds pipeline definitions: the SDK extra is needed"


def test_every_python_program_directory_in_the_repository_installs_mlstack():
    for project_file in [ROOT / "Pulumi.yaml", *ROOT.glob("examples/*/Pulumi.yaml")]:
        runtime = yaml.safe_load(project_file.read_text())["runtime"]
        if (runtime.get("name") if isinstance(runtime, dict) else runtime) != "python":
            continue  # examples/yaml: a Pulumi YAML program, whose package (components/) installs mlstack
        program = program_directory(project_file.parent)
        text = (program / "requirements.txt").read_text()
        assert "-e " in text, f"{program}: the Pulumi CLI would install nothing for this program"


def test_pip_install_in_the_program_directory_gives_a_venv_that_runs_the_program(tmp_path):
    """Install exactly as the host does (cwd = program directory, `-r requirements.txt`) into a
    fresh venv; mlstack's dependencies come from this environment through a .pth line (offline
    and fast), so only the requirements file decides whether mlstack itself gets installed."""
    program = program_directory(ROOT)
    venv = tmp_path / "venv"
    # --without-pip: pip and setuptools come from the dependency path below, like everything else.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True, text=True).stdout.strip()
    # Plain directory lines of a .pth are appended to sys.path; .pth files inside them are not
    # processed, so this environment's own editable mlstack stays invisible to the new venv.
    Path(site, "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = [str(python), "-c", "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('mlstack') else 3)"]
    assert subprocess.run(probe, cwd=tmp_path).returncode == 3, "mlstack must not be importable before the install"

    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-r", "requirements.txt"],
        cwd=program,
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr

    where = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m, mlstack; print(mlstack.__file__); print(m.distribution('mlstack').locate_file(''))"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert where.returncode == 0, where.stderr
    module_file, dist_location = where.stdout.split()
    assert Path(module_file).resolve().is_relative_to(ROOT)
    assert Path(dist_location).resolve().is_relative_to(venv.resolve())

    # The program's entry point, under the mock runtime, from the new venv.
    run = subprocess.run([str(python), "-m", "mlstack", "plan", "churn-dev"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "mlstack:index:ModelRegistry" in run.stdout


# -- 2. a brand-new stack -------------------------------------------------------------------------


def endpoint_stack(write_stack, **changes):
    config = {
        "aws:region": "us-east-1",
        "mlstack:endpoints": [{"name": "scoring", "model": "churn-xgb", "image": IMAGE, "artifactsUri": "s3://example-churn-models/churn-xgb/", "instanceType": "ml.m5.large"}],
        "mlstack:monitors": [{"endpoint": "scoring"}],
    }
    config.update(changes)
    return write_stack(config)


def test_offline_plan_of_a_new_stack_defers_the_endpoint_and_its_monitor(plan, write_stack, cli):
    models = [dict(BASELINE["mlstack:models"][0], approvedVersion="none")]
    path = endpoint_stack(write_stack, **{"mlstack:models": models})

    graph = plan(path)

    assert graph.by_type(ENDPOINT) == [] and graph.by_type(MODEL) == [] and graph.by_type(MONITOR) == []
    assert graph.by_type("mlstack:index:ModelRegistry"), "the registry is created on the first up"
    assert graph.outputs["deferredEndpoints"] == {"scoring": {"model": "churn-xgb", "modelPackageGroup": GROUP, "waitsFor": "an Approved version"}}
    assert any("endpoint 'scoring' is deferred" in w and "mlstack promote" in w for w in graph.warnings)
    code, out, err = cli("plan", str(path))
    assert code == 0 and "is deferred" in out


def test_a_live_endpoint_is_never_deferred_when_its_model_loses_approval(cli, write_stack):
    models = [dict(BASELINE["mlstack:models"][0], approvedVersion="none")]
    endpoints = [{"name": "scoring", "model": "churn-xgb", "image": IMAGE, "artifactsUri": "s3://example-churn-models/m/", "instanceType": "ml.m5.large", "deployedVariants": ["primary"]}]
    path = write_stack({"mlstack:models": models, "mlstack:endpoints": endpoints})

    code, out, err = cli("plan", str(path))

    assert code == 2
    assert "mlstack:endpoints[0].modelVersion" in err and "is live" in err and "remove the endpoint" in err
    assert "Traceback" not in err


def test_approved_version_is_a_number_or_none(cli, write_stack):
    models = [dict(BASELINE["mlstack:models"][0], approvedVersion="latest")]
    code, out, err = cli("plan", str(write_stack({"mlstack:models": models})))
    assert code == 2 and "mlstack:models[0].approvedVersion" in err and "'none'" in err


def _package(sagemaker, status: str) -> str:
    return sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://m/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]


def test_bootstrap_on_aws_first_plan_defers_then_serves_the_first_approved_version(aws_session, write_stack):
    """The README's bootstrap order against the AWS API: empty registry -> deferred; a version
    approved by `mlstack promote` -> the next deployment serves exactly that version."""
    from mlstack.engine import plan_stack

    path = endpoint_stack(write_stack)
    first = plan_stack(path, lookups="aws")
    assert first.by_type(ENDPOINT) == [] and "scoring" in first.outputs["deferredEndpoints"]

    sagemaker = aws_session.client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    _package(sagemaker, "PendingManualApproval")
    still = plan_stack(path, lookups="aws")
    assert still.by_type(ENDPOINT) == [], "a pending version is not served"

    approved = _package(sagemaker, "Approved")
    _package(sagemaker, "PendingManualApproval")  # newer but not approved
    second = plan_stack(path, lookups="aws")

    assert second.outputs["deferredEndpoints"] == {}
    [model] = second.by_type(MODEL)
    assert model.inputs["tags"]["mlstack:model-version"] == approved.rsplit("/", 1)[1] == "2"
    assert second.outputs["endpoints"]["scoring"]["modelVersion"] == 2
    assert len(second.by_type(ENDPOINT)) == 1 and len(second.by_type(MONITOR)) == 1


def test_an_unreadable_registry_answer_stops_instead_of_deferring(monkeypatch):
    """Fail closed: a ListModelPackages answer without its list is not "nothing approved"."""
    from mlstack import lookups
    from mlstack.ops.registry import MalformedResponse

    class Garbage:
        def list_model_packages(self, **kwargs):
            return {"html": "<html>proxy error</html>"}

    with pytest.raises(MalformedResponse):
        lookups.latest_approved_model_package(GROUP, client=Garbage())


# -- 3. lookups with the stack's AWS settings ----------------------------------------------------


def _assumed(aws_session, account: str) -> dict:
    sts = aws_session.client("sts")
    return sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/deploy", RoleSessionName="test-session")["Credentials"]


def _sagemaker_as(aws_session, credentials: dict):
    return aws_session.client(
        "sagemaker",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def test_lookups_assume_the_stacks_roles_and_read_that_accounts_registry(aws_session, write_stack):
    from mlstack.engine import plan_stack

    target = "111111111111"
    sagemaker = _sagemaker_as(aws_session, _assumed(aws_session, target))
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    _package(sagemaker, "Approved")
    # The ambient account has the same group with three approved versions: reading it would serve v3.
    ambient = aws_session.client("sagemaker")
    ambient.create_model_package_group(ModelPackageGroupName=GROUP)
    for _ in range(3):
        _package(ambient, "Approved")

    path = endpoint_stack(
        write_stack,
        **{"mlstack:accountId": target, "aws:assumeRoles": [{"roleArn": f"arn:aws:iam::{target}:role/deploy", "sessionName": "mlstack"}]},
    )
    graph = plan_stack(path, lookups="aws")

    [model] = graph.by_type(MODEL)
    assert model.inputs["tags"]["mlstack:model-version"] == "1"


def test_lookups_use_the_stacks_profile_from_its_shared_files(aws_session, write_stack, tmp_path):
    from mlstack.engine import plan_stack

    target = "222222222222"
    credentials = _assumed(aws_session, target)
    sagemaker = _sagemaker_as(aws_session, credentials)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    _package(sagemaker, "Approved")
    _package(sagemaker, "Approved")
    shared = tmp_path / "credentials"
    shared.write_text(
        "[deploy]\n"
        f"aws_access_key_id = {credentials['AccessKeyId']}\n"
        f"aws_secret_access_key = {credentials['SecretAccessKey']}\n"
        f"aws_session_token = {credentials['SessionToken']}\n"
    )
    path = endpoint_stack(write_stack, **{"mlstack:accountId": target, "aws:profile": "deploy", "aws:sharedCredentialsFiles": [str(shared)]})

    graph = plan_stack(path, lookups="aws")

    [model] = graph.by_type(MODEL)
    assert model.inputs["tags"]["mlstack:model-version"] == "2"


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"aws:forbiddenAccountIds": ["123456789012"]}, "aws:forbiddenAccountIds"),
        ({"aws:allowedAccountIds": ["999999999999"]}, "aws:allowedAccountIds"),
        ({"mlstack:accountId": "999999999999"}, "mlstack:accountId"),
    ],
)
def test_lookups_refuse_credentials_of_an_account_the_stack_must_not_touch(aws_session, write_stack, cli, changes, key):
    path = endpoint_stack(write_stack, **changes)
    code, out, err = cli("plan", str(path), "--lookups", "aws")
    assert code == 2, err
    assert key in err and "123456789012" in err and "Traceback" not in err
    assert "deploy-time lookups" in err and "invalid mlstack configuration" not in err


def test_malformed_assume_roles_config_is_a_clear_error(aws_session, write_stack, cli):
    path = endpoint_stack(write_stack, **{"aws:assumeRoles": [{"roleArn": "deploy"}]})
    code, out, err = cli("plan", str(path), "--lookups", "aws")
    assert code == 2 and "aws:assumeRoles[0].roleArn" in err and "Traceback" not in err


def test_partition_and_dns_suffix_come_from_botocore():
    from mlstack.stack_aws import arn, dns_suffix, partition_of

    assert [partition_of(r) for r in ("eu-west-1", "cn-north-1", "us-gov-west-1")] == ["aws", "aws-cn", "aws-us-gov"]
    assert dns_suffix("cn-northwest-1") == "amazonaws.com.cn" and dns_suffix("us-gov-east-1") == "amazonaws.com"
    assert arn("cn-north-1", "iam", "123456789012", "root", regional=False) == "arn:aws-cn:iam::123456789012:root"


def test_a_china_stack_plans_arns_and_principals_of_its_partition(plan, write_stack):
    image = f"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/churn-serve@{DIGEST}"
    path = write_stack(
        {
            "aws:region": "cn-north-1",
            "mlstack:registry": {"crossAccountReaders": ["345678901234"]},
            "mlstack:endpoints": [{"name": "scoring", "model": "churn-xgb", "image": image, "artifactsUri": "s3://example-churn-models/m/", "instanceType": "ml.m5.large"}],
        }
    )
    graph = plan(path)

    text = json.dumps([r.inputs for r in graph.resources])
    assert "arn:aws:" not in text, "an arn:aws ARN in aws-cn is wrong"
    [policy] = graph.by_type("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy")
    assert "arn:aws-cn:iam::345678901234:root" in policy.inputs["resourcePolicy"]


# -- explicit providers in Python stacks ---------------------------------------------------------


PYTHON_STACK = '''
import pulumi
from mlstack.program import StackContext, aws_provider, build
{make}
build(StackContext.from_pulumi(provider=provider))
'''


def _python_stack(tmp_path: Path, make: str) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: py\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(PYTHON_STACK.format(make=make))
    config = dict(BASELINE)
    (tmp_path / "Pulumi.churn-dev.yaml").write_text(yaml.safe_dump({"config": config}))
    return tmp_path / "Pulumi.churn-dev.yaml"


def test_an_explicit_provider_from_aws_provider_reaches_every_component(plan, tmp_path):
    path = _python_stack(tmp_path, 'provider = aws_provider("deploy", region="eu-west-1", assume_roles=[{"role_arn": "arn:aws:iam::123456789012:role/deploy"}])')
    graph = plan(path)

    [provider] = graph.by_type("pulumi:providers:aws")
    registry = graph.by_type("aws:sagemaker/modelPackageGroup:ModelPackageGroup")[0]
    assert registry.provider and registry.provider.startswith(provider.urn)


def test_a_provider_mlstack_cannot_read_is_refused(cli, tmp_path):
    path = _python_stack(tmp_path, 'import pulumi_aws as aws\nprovider = aws.Provider("deploy", region="eu-west-1")')
    code, out, err = cli("plan", str(path))
    assert code != 0
    assert "aws_provider" in (out + err)


def test_a_hung_aws_endpoint_stops_deploy_time_lookups_at_the_deadline(aws_session, write_stack, cli, monkeypatch):
    """Lookups share the day-2 commands' bounded client: a deadline for all of a run's calls."""
    import socket
    import time

    with socket.socket() as sock:  # takes the connection, never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{sock.getsockname()[1]}")
        monkeypatch.setenv("MLSTACK_AWS_TIMEOUT", "1")
        started = time.monotonic()
        code, out, err = cli("plan", str(endpoint_stack(write_stack)), "--lookups", "aws")
        elapsed = time.monotonic() - started

    assert code == 2 and "deadline" in err and "sts:GetCallerIdentity" in err and "Traceback" not in err
    assert elapsed < 15, f"a 1 s deadline took {elapsed:.0f} s"


def test_check_judges_endpoints_a_new_registry_would_defer(cli, write_stack):
    """Hostile: `approvedVersion: none` must not keep an endpoint out of `mlstack check`, or the
    first `pulumi up` after an approval would create it unjudged."""
    models = [dict(BASELINE["mlstack:models"][0], approvedVersion="none")]
    endpoints = [{"name": "scoring", "model": "churn-xgb", "image": IMAGE, "artifactsUri": "s3://example-churn-models/m/", "instanceType": "ml.m5.large", "rollout": {"type": "ALL_AT_ONCE"}}]
    path = write_stack(
        {"mlstack:environment": "prod", "mlstack:accountId": "123456789012", "mlstack:models": models, "mlstack:endpoints": endpoints},
        stack="churn-prod",
    )

    code, out, err = cli("plan", str(path))
    assert code == 0 and "is deferred" in out

    code, out, err = cli("check", str(path))
    assert code == 1, out + err
    assert "mlstack-endpoint-requires-progressive-rollout" in out
