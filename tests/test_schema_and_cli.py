"""`mlstack schema`, `mlstack plan` output and JSON, and the CLI's start-up cost."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
import yaml

from conftest import ROOT, bundled_stacks


@pytest.fixture(scope="module")
def schema():
    from mlstack.schema import stack_config_schema

    document = stack_config_schema()
    jsonschema.Draft202012Validator.check_schema(document)
    return document


@pytest.mark.parametrize("stack", bundled_stacks(), ids=lambda p: p.name)
def test_every_bundled_stack_validates_against_the_schema(schema, stack):
    jsonschema.validate(yaml.safe_load(stack.read_text()), schema, cls=jsonschema.Draft202012Validator)


def test_schema_rejects_unknown_mlstack_keys_and_allows_other_namespaces(schema):
    good = yaml.safe_load((ROOT / "stacks/Pulumi.churn-dev.yaml").read_text())
    good["config"]["kubernetes:context"] = "gpu-cluster"
    jsonschema.validate(good, schema)
    bad = json.loads(json.dumps(good))
    bad["config"]["mlstack:regsitry"] = {}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    bad = json.loads(json.dumps(good))
    bad["config"]["mlstack:models"][0]["nme"] = "x"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_every_schema_field_is_documented(schema):
    undocumented = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, prop in (node.get("properties") or {}).items():
                if path.startswith("/properties/config") or path.startswith("/$defs"):
                    if not (prop.get("description") or "$ref" in prop):
                        undocumented.append(f"{path}/{key}")
                walk(prop, f"{path}/{key}")
            for key, value in node.items():
                if key != "properties":
                    walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, path)

    walk(schema, "")
    assert undocumented == []


def test_schema_command_prints_the_schema(cli):
    code, out, _ = cli("schema")
    assert code == 0
    assert "mlstack:team" in json.loads(out)["properties"]["config"]["properties"]


def test_plan_prints_tree_counts_and_accelerators(cli, plan):
    code, out, err = cli("plan", "churn-prod")
    assert code == 0, err
    assert f"stack churn-prod (project mlstack): {len(plan('churn-prod'))} resources" in out
    assert "─ churn-xgb  [mlstack:index:ModelRegistry]" in out
    assert "churn-xgb-group  [aws:sagemaker/modelPackageGroup:ModelPackageGroup]" in out
    assert "aws:sagemaker/modelPackageGroup:ModelPackageGroup" in out.split("resources by type")[1]
    assert "accelerators:" in out


def test_plan_json_has_the_documented_shape(cli, plan, tmp_path):
    target = tmp_path / "plan.json"
    code, _, _ = cli("plan", "churn-prod", "--json", str(target))
    assert code == 0
    graph = json.loads(target.read_text())
    assert graph["stack"] == "churn-prod"
    assert [r["urn"] for r in graph["resources"]] == [r.urn for r in plan("churn-prod")]
    documented = {"urn", "type", "name", "parent", "dependencies", "custom", "inputs"}
    optional = {"propertyDependencies", "transforms", "aliases"}  # what the plan reader also accepts
    for resource in graph["resources"]:
        assert documented <= set(resource) <= documented | optional
        assert resource["urn"].startswith("urn:pulumi:churn-prod::mlstack::")


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys, io, contextlib\n"
        "from mlstack.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
        "heavy = [m for m in ('pulumi', 'pulumi_aws', 'boto3', 'botocore', 'pydantic', 'numpy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_console_script_runs_plan_from_the_repo_root():
    result = subprocess.run([sys.executable, "-m", "mlstack", "plan", "churn-dev"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "stack churn-dev" in result.stdout


def test_catalog_command_lists_gpu_types(cli):
    code, out, _ = cli("catalog", "endpoint", "--accelerated")
    assert code == 0
    assert "ml.g5.xlarge" in out and "ml.m5.large" not in out


def test_unknown_command_is_a_usage_error(cli):
    code, _, err = cli("deploy")
    assert code == 2 and "invalid choice" in err


def test_closed_pipe_ends_quietly_without_traceback(tmp_path):
    # What a user does: pipe a long report into `head`, which leaves after the first line.
    header, bad_row = (ROOT / "examples/data/customers-bad.csv").read_text().splitlines()[:3:2]
    sample = tmp_path / "many-bad.csv"
    sample.write_text("\n".join([header] + [bad_row] * 20000) + "\n")
    command = f"{sys.executable} -m mlstack validate-data churn-prod customers {sample} --max-errors 100000 | head -1"
    result = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.count("\n") == 1
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr


# -- writing files: atomic, never over an input (tests/test_hostile_inputs.py has the refusals) ----


def test_output_replaces_a_file_whole_and_keeps_its_mode(cli, tmp_path):
    target = tmp_path / "schema.json"
    target.write_text("old")
    target.chmod(0o640)
    code, out, err = cli("schema", "-o", str(target))
    assert (code, out, err) == (0, "", "")
    assert "mlstack:team" in json.loads(target.read_text())["properties"]["config"]["properties"]
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["schema.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(cli, tmp_path, monkeypatch):
    import errno
    import os

    target = tmp_path / "schema.json"
    target.write_text("old")

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("os.fsync", disk_full)
    code, _, err = cli("schema", "-o", str(target))
    assert code == 2
    assert err == f"mlstack: error: cannot write --output '{target}': no space left on the device; nothing was written\n"
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["schema.json"]


def test_output_through_a_symlink_writes_the_file_it_names(cli, tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert cli("schema", "-o", str(link))[0] == 0
    assert link.is_symlink() and json.loads(real.read_text())["title"]


def test_output_to_a_device_writes_in_place(cli):
    import os
    import stat

    assert cli("schema", "-o", "/dev/null")[0] == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)  # not replaced by a regular file


def test_plan_refuses_to_overwrite_its_program_before_planning(cli, tmp_path, monkeypatch):
    # The stack's program is an input too: `--json stacks/__main__.py` would destroy it.
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text("name: mlstack\nruntime: python\nmain: stacks/\nstackConfigDir: stacks\n")
    program = project / "stacks" / "__main__.py"
    program.write_text("import mlstack.program\n")
    (project / "stacks" / "Pulumi.churn-dev.yaml").write_text((ROOT / "stacks/Pulumi.churn-dev.yaml").read_text())
    monkeypatch.setattr("mlstack.engine.plan_stack", lambda *a, **k: pytest.fail("planned before checking --json"))
    code, _, err = cli("plan", str(project / "stacks" / "Pulumi.churn-dev.yaml"), "--json", str(program))
    assert code == 2
    assert f"--json '{program}' is the stack's Pulumi program this command reads; refusing to overwrite it" in err
    assert program.read_text() == "import mlstack.program\n"


def test_output_over_a_file_read_during_the_command_is_refused_at_write_time(tmp_path):
    from mlstack.errors import UsageError
    from mlstack.files import forget_inputs, open_output, read_text

    forget_inputs()
    config = tmp_path / "config.json"
    config.write_text("{}")
    output = open_output(str(config), option="--json")  # not yet read: nothing to refuse
    read_text(config, what="the policy pack config")
    with pytest.raises(UsageError, match="is the policy pack config this command reads"):
        output.write("{}\n")
    assert config.read_text() == "{}"
    forget_inputs()
