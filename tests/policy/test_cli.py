"""`mlstack check`: every bundled stack passes in its environment, the deliberately bad stack
fails with the expected policies, and the output formats CI reads."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, bundled_stacks

BAD = "tests/data/Pulumi.bad-prod.yaml"
BAD_POLICIES = {
    "mlstack-endpoint-requires-progressive-rollout",
    "mlstack-endpoint-requires-monitoring",
    "mlstack-instance-types-within-limits",
    "mlstack-endpoint-serves-approved-package",
    "mlstack-image-pinned-by-digest",
    "mlstack-model-lineage-complete",
    "mlstack-sagemaker-runs-in-vpc",
    "mlstack-stack-within-budget",  # 160 GPUs at once during a blue/green rollout > prod's cap of 64
}


@pytest.mark.parametrize("stack", bundled_stacks(), ids=lambda p: p.name)
def test_every_bundled_stack_passes_the_pack(cli, stack):
    code, out, err = cli("check", str(stack))
    assert code == 0, out + err
    assert "0 mandatory" in out.splitlines()[-1]


def test_bad_stack_fails_with_the_expected_policies(cli, tmp_path):
    report = tmp_path / "report.json"
    code, out, err = cli("check", BAD, "--json", str(report))
    assert code == 1, err
    data = json.loads(report.read_text())
    assert data["passed"] is False and data["environment"] == "prod"
    mandatory = {v["policy"] for v in data["violations"] if v["enforcementLevel"] == "mandatory"}
    assert mandatory == BAD_POLICIES
    for violation in data["violations"]:
        assert violation["urn"].startswith("urn:pulumi:bad-prod::")
        assert f"[{violation['enforcementLevel']}] {violation['policy']}" in out
        assert violation["message"] in out
    assert out.splitlines()[-1].endswith("FAILED")


def test_github_format_annotates_the_stack_file_at_the_entry(cli, tmp_path):
    config = tmp_path / "vpc-advisory.json"
    config.write_text(json.dumps({"mlstack-sagemaker-runs-in-vpc": "advisory"}))
    code, out, _ = cli("check", BAD, "--format", "github", "--config", str(config))
    assert code == 1
    errors = [line for line in out.splitlines() if line.startswith("::error ")]
    warnings = [line for line in out.splitlines() if line.startswith("::warning ")]
    assert {line.split("title=", 1)[1].split(" (", 1)[0] for line in errors} == BAD_POLICIES - {"mlstack-sagemaker-runs-in-vpc"}
    assert warnings and all("mlstack-sagemaker-runs-in-vpc (advisory)" in w for w in warnings)
    for line in errors:
        assert line.startswith(f"::error file={BAD},line=13,title=")  # the line of mlstack:endpoints[0]
        assert "\n" not in line and "%0Aresource: urn%3Apulumi" not in line and "%0Aresource: urn:pulumi:bad-prod" in line


def test_json_format_prints_the_report_and_config_changes_the_verdict(cli, tmp_path):
    config = tmp_path / "relaxed.json"
    config.write_text(json.dumps({"all": "advisory"}))
    code, out, _ = cli("check", BAD, "--format", "json", "--config", str(config))
    data = json.loads(out)
    assert code == 0 and data["passed"] is True
    assert {v["enforcementLevel"] for v in data["violations"]} == {"advisory"}
    assert {p["name"]: p["enforcementLevel"] for p in data["policies"]}["mlstack-model-lineage-complete"] == "advisory"


def test_bad_input_exits_2_without_a_traceback(cli, tmp_path):
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"mlstack-no-such-policy": "mandatory"}))
    code, _, err = cli("check", BAD, "--config", str(config))
    assert code == 2 and "invalid policy pack configuration" in err and "Traceback" not in err
    code, _, err = cli("check", "churn-staging")
    assert code == 2 and "no stack 'churn-staging'" in err
    code, _, err = cli("check", BAD, "--format", "xml")
    assert code == 2
    code, _, err = cli("check", BAD, "--config", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read the policy pack config" in err


def test_check_help_stays_fast_the_pack_loads_only_when_a_stack_is_checked():
    probe = "import sys, mlstack.cli as c; c.build_parser(['check', '--help']); print('pulumi_policy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
