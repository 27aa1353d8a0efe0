"""Report formats: SARIF 2.1.0 (validated against the OASIS schema), JUnit XML, JSON with
formatVersion, GitHub annotations with line=, and waived violations kept visible in each."""

from __future__ import annotations

import datetime as _dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from conftest import ROOT

from mlstack.reports import FORMAT_VERSION, Finding, Rule, Run, Waived, render

BAD = "tests/data/Pulumi.bad-prod.yaml"
SARIF_SCHEMA = json.loads((ROOT / "tests/data/sarif/sarif-schema-2.1.0.json").read_text())
MODEL = "urn:pulumi:bad-prod::mlstack::mlstack:index:Endpoint$aws:sagemaker/model:Model::scoring-model"
VPC, DIGEST = "mlstack-sagemaker-runs-in-vpc", "mlstack-image-pinned-by-digest"
FUTURE = (_dt.date.today() + _dt.timedelta(days=90)).isoformat()  # within the yearly review horizon


def waived_copy(directory: Path) -> Path:
    text = (ROOT / BAD).read_text()
    waivers = f"""  mlstack:waivers:
    - policy: {VPC}
      resource: {MODEL}
      reason: "lab endpoint, no VPC yet (RISK-7)"
      owner: platform@example.com
      expires: "{FUTURE}"
    - policy: {DIGEST}
      resource: {MODEL}
      reason: "tag pinned until the registry migration"
      owner: platform@example.com
      expires: "2001-01-01"
"""
    path = directory / "Pulumi.bad-prod.yaml"
    path.write_text(text + waivers)
    return path


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The deliberately bad stack, and the same stack with one waiver in effect and one expired."""
    import os

    from mlstack.policy.check import check_stack

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        bad = check_stack(BAD)
        waived = check_stack(waived_copy(tmp_path_factory.mktemp("waived")))
    finally:
        os.chdir(cwd)
    return bad, waived


def rendered(fmt, *reports_):
    from mlstack.policy.reports import render_reports

    return render_reports(fmt, list(reports_))


def test_sarif_validates_against_the_sarif_2_1_0_schema_for_one_and_several_stacks(reports):
    for selection in ([reports[0]], list(reports)):
        log = json.loads(rendered("sarif", *selection))
        jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
        assert log["version"] == "2.1.0" and len(log["runs"]) == 1


def test_sarif_rules_are_the_policies_and_results_sit_at_the_declaring_line(reports):
    log = json.loads(rendered("sarif", reports[0]))
    run = log["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert VPC in rules and rules[VPC]["fullDescription"]["text"].startswith("Checks that")
    assert rules[VPC]["defaultConfiguration"]["level"] == "error" and "How to fix" in rules[VPC]["help"]["text"]
    assert rules[VPC]["properties"]["security-severity"] in {"9.5", "8.0", "5.5", "3.0"}
    ids = list(rules)
    assert {r["ruleId"] for r in run["results"]} >= {VPC, DIGEST}
    for result in run["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]
        where = result["locations"][0]["physicalLocation"]
        assert where["artifactLocation"]["uri"] == BAD and where["region"]["startLine"] == 13  # mlstack:endpoints[0]
        assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "mlstack:endpoints[0]"
        assert "suppressions" not in result


def test_sarif_suppresses_a_waived_result_and_not_an_expired_one(reports):
    results = json.loads(rendered("sarif", reports[1]))["runs"][0]["results"]
    vpc = [r for r in results if r["ruleId"] == VPC]
    assert len(vpc) == 1 and vpc[0]["suppressions"][0]["status"] == "accepted"
    assert vpc[0]["suppressions"][0]["justification"] == "lab endpoint, no VPC yet (RISK-7)" and vpc[0]["suppressions"][0]["kind"] == "inSource"
    digest = [r for r in results if r["ruleId"] == DIGEST]
    assert digest and "suppressions" not in digest[0] and "expired on 2001-01-01" in digest[0]["message"]["text"]
    listed = [r for r in results if r["ruleId"] == "mlstack-waivers-reported"]
    assert listed and {r["level"] for r in listed} == {"note"}


def test_junit_has_a_case_per_policy_and_resource_and_counts_that_add_up(reports):
    bad, waived = reports
    root = ET.fromstring(rendered("junit", bad, waived))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["check bad-prod", "check bad-prod"]
    for suite in suites:
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(1 for c in cases if c.find("failure") is not None)
        assert int(suite.get("skipped")) == sum(1 for c in cases if c.find("skipped") is not None)
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in suites)
    resource_policies = [n for n, kind in bad.kinds.items() if kind == "resource" and bad.settings[n].level != "disabled"]
    vpc_cases = [c for c in suites[0].findall("testcase") if c.get("classname") == f"bad-prod.{VPC}"]
    assert len(vpc_cases) == bad.resources and resource_policies
    failing = [c for c in vpc_cases if c.find("failure") is not None]
    assert [c.get("name") for c in failing] == ["scoring-model (aws:sagemaker/model:Model)"]
    assert failing[0].find("failure").get("type") == "mandatory"
    waived_case = [c for c in suites[1].findall("testcase") if c.get("classname") == f"bad-prod.{VPC}" and c.get("name").startswith("scoring-model ")]
    assert waived_case[0].find("failure") is None and "RISK-7" in waived_case[0].find("skipped").get("message")


def test_every_json_document_carries_the_format_version(reports):
    one = json.loads(rendered("json", reports[0]))
    assert one["formatVersion"] == FORMAT_VERSION and one["stack"] == "bad-prod" and one["passed"] is False
    both = json.loads(rendered("json", *reports))
    assert both["formatVersion"] == FORMAT_VERSION and [r["stack"] for r in both["stacks"]] == ["bad-prod", "bad-prod"]
    waived = json.loads(rendered("json", reports[1]))
    assert [(w["policy"], w["waiver"]["status"], w["waiver"]["owner"]) for w in waived["waived"]] == [(VPC, "applied", "platform@example.com")]
    assert any(v["waiver"] and v["waiver"]["status"] == "expired" for v in waived["violations"])


def test_github_annotations_carry_the_line_and_a_waived_violation_is_a_notice(reports):
    lines = rendered("github", reports[1]).splitlines()
    vpc = [l for l in lines if f"title={VPC} " in l]
    assert len(vpc) == 1 and vpc[0].startswith("::notice file=") and ",line=13," in vpc[0] and "(waived)" in vpc[0]
    assert any(l.startswith("::error ") and f"title={DIGEST} " in l and "expired on 2001-01-01" in l for l in lines)


def test_text_lists_waived_violations_with_their_waiver(reports):
    text = rendered("text", reports[1])
    block = text.split(f"[waived] {VPC}", 1)[1].split("\n\n", 1)[0]
    assert "RISK-7" in block and FUTURE in block and "platform@example.com" in block
    assert "1 waived" in text.splitlines()[-1]


def test_hostile_messages_cannot_break_the_junit_or_sarif_documents():
    nasty = "]]></failure><testcase name='forged'/>\x00\x1b[31m\ud800 & <b>"
    run = Run(
        name="x",
        command="check",
        rules=[Rule(id="mlstack-x", description=nasty)],
        findings=[Finding(rule="mlstack-x", level="error", message=nasty, subject=nasty, file="a b/Pulumi.x.yaml", line=3,
                          waived=None), Finding(rule="mlstack-x", level="error", message=nasty, subject="s2",
                          waived=Waived("applied", nasty, nasty, "2999-01-01", "pack config"))],  # fmt: skip
        cases=[("mlstack-x", nasty), ("mlstack-x", "s2")],
    )
    root = ET.fromstring(render("junit", [run]))
    names = [c.get("name") for c in root.iter("testcase")]
    assert len(names) == 2 and names[0].startswith("]]></failure>") and "\x00" not in names[0]  # no forged case
    assert root.get("failures") == "1" and root.get("skipped") == "1"
    log = json.loads(render("sarif", [run]))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    assert log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "a%20b/Pulumi.x.yaml"


def test_report_options_write_files_and_keep_stdout_to_one_document(cli, tmp_path):
    sarif, report = tmp_path / "out.sarif", tmp_path / "report.json"
    code, out, _ = cli("check", BAD, "--format", "sarif", "--output", str(sarif), "--json", str(report))
    assert code == 1 and out.splitlines()[-1].endswith("FAILED")  # the text stays on stdout
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(json.loads(sarif.read_text()))
    assert json.loads(report.read_text())["formatVersion"] == FORMAT_VERSION
    code, out, _ = cli("check", BAD, "--json")
    assert code == 1 and json.loads(out)["formatVersion"] == FORMAT_VERSION  # bare --json: JSON on stdout alone


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--json", "--format", "sarif"], "give --output FILE"),
        (["--output", BAD], "refusing to overwrite"),
        (["--output", "{tmp}/same.json", "--json", "{tmp}/same.json"], "name the same file"),
        (["--output", "{tmp}/missing/dir/out.sarif", "--format", "sarif"], "does not exist"),
    ],
)
def test_report_options_refuse_bad_targets_before_planning(cli, tmp_path, argv, expected):
    code, out, err = cli("check", BAD, *[a.format(tmp=tmp_path) for a in argv])
    assert code == 2 and expected in err and "Traceback" not in err and out == ""


# -- validate-data ---------------------------------------------------------------------------------

BAD_DATA = "examples/data/customers-bad.csv"


def test_validate_data_reports_bad_values_at_their_line_in_every_format(cli, tmp_path):
    sarif, junit = tmp_path / "data.sarif", tmp_path / "data.xml"
    code, out, _ = cli("validate-data", "churn-prod", "customers", BAD_DATA, "--format", "sarif", "--output", str(sarif))
    assert code == 1 and "problems in" in out.splitlines()[-1]
    log = json.loads(sarif.read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    results = log["runs"][0]["results"]
    first = results[0]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"]["uri"] == BAD_DATA and first["region"]["startLine"] == 3
    code, _, _ = cli("validate-data", "churn-prod", "customers", BAD_DATA, "--format", "junit", "--output", str(junit))
    root = ET.fromstring(junit.read_text())
    failed = {c.get("name") for c in root.iter("testcase") if c.find("failure") is not None}
    assert "column customer_id" in failed and "whole records" in failed and int(root.get("failures")) == len(failed)
    code, out, _ = cli("validate-data", "churn-prod", "customers", BAD_DATA, "--json")
    data = json.loads(out)
    assert code == 1 and data["formatVersion"] == FORMAT_VERSION and data["passed"] is False and data["problems"][0]["line"] == 3
    code, out, _ = cli("validate-data", "churn-prod", "customers", BAD_DATA, "--format", "github")
    assert out.startswith(f"::error file={BAD_DATA},line=3,title=mlstack-data-matches-feature-group::")


def test_validate_data_still_reads_format_csv_as_the_data_format(cli, tmp_path):
    sample = tmp_path / "sample.txt"
    sample.write_text((ROOT / "examples/data/customers-good.csv").read_text())
    code, out, err = cli("validate-data", "churn-prod", "customers", str(sample), "--format", "csv")
    assert code == 0 and "all 5 rows match" in out and "write --data-format csv" in err
    code, out, _ = cli("validate-data", "churn-prod", "customers", str(sample), "--data-format", "csv", "--format", "json")
    assert code == 0 and json.loads(out)["passed"] is True
    code, _, err = cli("validate-data", "churn-prod", "customers", str(sample), "--data-format", "csv", "--output", str(sample))
    assert code == 2 and "refusing to overwrite" in err


def test_waiving_every_mandatory_violation_passes_the_gate_and_keeps_each_in_sight(cli, reports, tmp_path):
    bad = reports[0]
    entries = "".join(
        f"""    - policy: {v.policy}
      resource: "{v.urn}"
      reason: "accepted for the migration (RISK-{i})"
      owner: platform@example.com
      expires: "{FUTURE}"
"""
        for i, v in enumerate({(v.policy, v.urn): v for v in bad.mandatory}.values())  # one waiver covers a policy on a resource
    )
    stack = tmp_path / "Pulumi.bad-prod.yaml"
    stack.write_text((ROOT / BAD).read_text() + "  mlstack:waivers:\n" + entries)
    code, out, err = cli("check", str(stack), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["passed"] is True and not [v for v in data["violations"] if v["enforcementLevel"] == "mandatory"]
    assert sorted((w["policy"], w["urn"]) for w in data["waived"]) == sorted((v.policy, v.urn) for v in bad.mandatory)
    listed = [v for v in data["violations"] if v["policy"] == "mlstack-waivers-reported"]
    assert len(listed) == len(bad.mandatory) and all(v["enforcementLevel"] == "advisory" for v in listed)
