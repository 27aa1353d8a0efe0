"""The drift job's container image: its dependency set is enough, and nothing more.

Docker cannot run here, so the image's dependency set is tested instead: a fresh venv holding
only ``docker/drift/requirements.txt`` and what those packages need (plus mlstack's source,
without its dependencies, as the image's ``pip install --no-deps`` of the wheel gives) runs
``python -m mlstack.drift`` on a small capture file against the AWS test endpoint. The
Dockerfile's pip lines are parsed and must install exactly that file and the mlstack wheel.
"""

from __future__ import annotations

import json
import shlex
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from venv_closure import ROOT, Venv, make_venv, read_requirements, resolve

IMAGE = ROOT / "docker" / "drift"
DOCKERFILE = IMAGE / "Dockerfile"
REQUIREMENTS = IMAGE / "requirements.txt"
#: What the job must never carry (mlstack's deployment side).
NOT_IN_IMAGE = {"sagemaker", "sagemaker-core", "pulumi", "pulumi-aws", "pulumi-kubernetes", "pulumi-policy", "pydantic", "pyyaml"}

BUCKET = "mlstack-drift-image"
ENDPOINT = "churn-scoring"


# -- the Dockerfile ---------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def pip_commands(instructions: list[tuple[str, str]]) -> list[list[str]]:
    """Every pip invocation of the RUN instructions, from the pip subcommand on."""
    commands = []
    for keyword, rest in instructions:
        if keyword != "RUN":
            continue
        for part in rest.replace(";", "&&").split("&&"):
            words = shlex.split(part)
            if words[:3] in (["python", "-m", "pip"], ["python3", "-m", "pip"]):
                commands.append(words[3:])
            elif words[:1] in (["pip"], ["pip3"]):
                commands.append(words[1:])
    return commands


def copied_to(instructions: list[tuple[str, str]], source: str) -> str:
    """Where a COPY instruction puts ``source`` (a path relative to the build context)."""
    for keyword, rest in instructions:
        words = rest.split()
        if keyword == "COPY" and not words[0].startswith("--") and words[:-1] == [source]:
            return words[-1]
    raise AssertionError(f"the Dockerfile copies no {source}")


def dockerfile_problems(text: str) -> list[str]:
    """What in a drift Dockerfile departs from: pip installs exactly REQUIREMENTS (as copied
    into the image) and the mlstack wheel with --no-deps, and the entry point is the job."""
    problems: list[str] = []
    instructions = dockerfile_instructions(text)
    requirements_in_image = copied_to(instructions, str(REQUIREMENTS.relative_to(ROOT)))
    requirement_files: list[str] = []
    for command in (c for c in pip_commands(instructions) if c[0] == "install"):
        args = command[1:]
        for i, arg in enumerate(args):
            if arg in ("-r", "--requirement"):
                requirement_files.append(args[i + 1])
            elif arg.startswith(("-e", "--editable", "-c", "--constraint", "-i", "--index-url", "--extra-index-url")):
                problems.append(f"pip install {' '.join(args)}: {arg} may bring in packages the venv test does not see")
            elif not arg.startswith("-") and args[i - 1] not in ("-r", "--requirement"):
                if not (arg.rsplit("/", 1)[-1].startswith("mlstack-") and arg.endswith(".whl")):
                    problems.append(f"pip install {' '.join(args)}: installs {arg!r}, which is not in {REQUIREMENTS.name}")
                elif "--no-deps" not in args:
                    problems.append(f"pip install {' '.join(args)}: the mlstack wheel must be installed with --no-deps")
    if requirement_files != [requirements_in_image]:
        problems.append(f"pip installs the requirement files {requirement_files}, not exactly {requirements_in_image}")
    for command in (c for c in pip_commands(instructions) if c[0] == "wheel"):
        if "--no-deps" not in command:
            problems.append(f"pip {' '.join(command)}: build only mlstack's wheel (--no-deps)")
    entry = [rest for keyword, rest in instructions if keyword == "ENTRYPOINT"]
    if not entry or json.loads(entry[-1]) != ["python", "-m", "mlstack.drift"]:
        problems.append(f"the entry point is {entry[-1] if entry else None}, not the drift job")
    return problems


def test_dockerfile_installs_exactly_the_requirements_file_and_the_mlstack_wheel() -> None:
    assert dockerfile_problems(DOCKERFILE.read_text()) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("-r /opt/mlstack-drift/requirements.txt", "-r /opt/mlstack-drift/requirements.txt pandas"),
        ("install --no-deps", "install"),
        ("pip install -r /opt/mlstack-drift/requirements.txt", "pip install -r /tmp/other.txt"),
        ("pip wheel --no-cache-dir --no-deps", "pip wheel --no-cache-dir"),
    ],
)
def test_dockerfile_check_catches_an_image_that_drifts_from_the_requirements(old: str, new: str) -> None:
    text = DOCKERFILE.read_text()
    assert old in text
    assert dockerfile_problems(text.replace(old, new))


def test_image_requirements_have_pyprojects_bounds_and_leave_out_deployment_packages() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {
        canonicalize_name(r.name): r
        for r in map(Requirement, [*project["dependencies"], *project["optional-dependencies"]["drift"]])
    }
    requirements = read_requirements(REQUIREMENTS)
    assert {canonicalize_name(r.name) for r in requirements} == {"numpy", "boto3"}
    for requirement in requirements:
        assert requirement.specifier == declared[canonicalize_name(requirement.name)].specifier, requirement
    assert not set(resolve(requirements)) & NOT_IN_IMAGE


# -- the job with exactly that dependency set ---------------------------------------------------


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return make_venv(tmp_path_factory.mktemp("drift-image") / "venv", read_requirements(REQUIREMENTS), mlstack_source=True)


def capture_line(row: str) -> str:
    return json.dumps(
        {
            "captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": row, "encoding": "CSV"}},
            "eventMetadata": {"eventId": "e", "inferenceTime": "2026-01-01T00:00:00Z"},
            "eventVersion": "0",
        }
    )


def test_the_venv_holds_only_the_image_requirements(image_venv: Venv) -> None:
    names = ("numpy", "boto3", "mlstack", "pulumi", "pulumi_aws", "sagemaker", "pydantic", "yaml", "pyarrow", "moto")
    probe = "import importlib.util, json; print(json.dumps([n for n in %r if importlib.util.find_spec(n)]))" % (names,)
    result = image_venv.run("-c", probe)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["numpy", "boto3", "mlstack"]


def test_drift_job_runs_with_only_the_image_requirements(image_venv: Venv, aws_session, tmp_path: Path) -> None:
    s3, cloudwatch = aws_session.client("s3"), aws_session.client("cloudwatch")
    s3.create_bucket(Bucket=BUCKET)
    baseline = ["tenure,plan"] + [f"{12 + i % 24},{('basic', 'pro')[i % 2]}" for i in range(200)]
    s3.put_object(Bucket=BUCKET, Key="baseline/baseline.csv", Body="\n".join(baseline).encode())
    rows = [f"{30 + i % 10},{('basic', 'pro', 'team')[i % 3]}" for i in range(60)]  # drifted: older, a new plan
    hour = datetime.now(UTC).strftime("%Y/%m/%d/%H")
    s3.put_object(Bucket=BUCKET, Key=f"capture/{ENDPOINT}/AllTraffic/{hour}/part-0.jsonl", Body="\n".join(map(capture_line, rows)).encode())
    report_path = tmp_path / "report.json"

    result = image_venv.run(
        "-m", "mlstack.drift",
        "--endpoint-name", ENDPOINT,
        "--capture-uri", f"s3://{BUCKET}/capture/{ENDPOINT}",
        "--baseline-uri", f"s3://{BUCKET}/baseline/baseline.csv",
        "--categorical", "plan",
        "--report-uri", str(report_path),
        cwd=tmp_path,
        env=aws_session.env,  # AWS_ENDPOINT_URL and fake credentials
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(report_path.read_text())
    assert report["captured_records"] == len(rows)
    assert set(report["features"]) == {"tenure", "plan"}
    assert report["features"]["tenure"]["psi"] > 0.2 and report["features"]["plan"]["psi"] > 0.2
    now = datetime.now(UTC)
    data = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": query,
                "MetricStat": {
                    "Metric": {"Namespace": "mlstack/Drift", "MetricName": metric, "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
            for query, metric, dims in [
                ("records", "CapturedRecords", {"EndpointName": ENDPOINT}),
                ("psi", "PopulationStabilityIndex", {"EndpointName": ENDPOINT, "Feature": "tenure"}),
                ("drifted", "FeaturesDrifted", {"EndpointName": ENDPOINT}),
            ]
        ],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=10),
    )
    values = {r["Id"]: r["Values"] for r in data["MetricDataResults"]}
    assert values["records"] == [len(rows)]
    assert values["psi"] == [pytest.approx(report["features"]["tenure"]["psi"], rel=1e-12)]
    assert values["drifted"] == [2]


def test_drift_job_without_its_requirements_says_what_to_install(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    # The same venv without numpy: the job stops with the install command, not a traceback.
    without_numpy = [r for r in read_requirements(REQUIREMENTS) if r.name != "numpy"]
    venv = make_venv(tmp_path_factory.mktemp("drift-no-numpy") / "venv", without_numpy, mlstack_source=True)
    (tmp_path / "baseline.csv").write_text("tenure\n1\n2\n")
    (tmp_path / "capture").mkdir()
    result = venv.run(
        "-m", "mlstack.drift", "--endpoint-name", ENDPOINT,
        "--capture-uri", str(tmp_path / "capture"), "--baseline-uri", str(tmp_path / "baseline.csv"),
    )  # fmt: skip
    assert result.returncode == 2
    assert "pip install 'mlstack[drift]'" in result.stderr and "numpy" in result.stderr
    assert "Traceback" not in result.stderr


def test_quality_job_runs_with_only_the_image_requirements(image_venv: Venv, aws_session, tmp_path: Path) -> None:
    s3, cloudwatch = aws_session.client("s3"), aws_session.client("cloudwatch")
    s3.create_bucket(Bucket=BUCKET)
    hour = datetime.now(UTC)
    lines = []
    for i in range(20):
        lines.append(
            json.dumps(
                {
                    "captureData": {
                        "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": f"{i},basic", "encoding": "CSV"},
                        "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT", "data": "0.9" if i % 2 else "0.1", "encoding": "CSV"},
                    },
                    "eventMetadata": {"eventId": f"e{i}", "inferenceTime": (hour - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")},
                    "eventVersion": "0",
                }
            )
        )
    s3.put_object(Bucket=BUCKET, Key=f"capture/{ENDPOINT}/AllTraffic/{hour - timedelta(minutes=30):%Y/%m/%d/%H}/q.jsonl", Body="\n".join(lines).encode())
    labels = "\n".join(json.dumps({"groundTruthData": {"data": str(i % 2), "encoding": "CSV"}, "eventMetadata": {"eventId": f"e{i}"}}) for i in range(20))
    s3.put_object(Bucket=BUCKET, Key=f"labels/{hour:%Y/%m/%d/%H}/l.jsonl", Body=labels.encode())
    result = image_venv.run(
        "-m", "mlstack.drift.quality", "--endpoint-name", ENDPOINT, "--capture-uri", f"s3://{BUCKET}/capture/",
        "--ground-truth-uri", f"s3://{BUCKET}/labels/", "--problem-type", "binary", "--window-hours", "2",
        env=aws_session.env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    accuracy = [m for m in cloudwatch.list_metrics(Namespace="mlstack/Quality")["Metrics"] if m["MetricName"] == "ModelQuality"]
    assert accuracy
