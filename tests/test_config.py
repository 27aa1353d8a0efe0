"""Stack files: validation, every problem at once, file/line/key/value in each message, exit 2."""

from __future__ import annotations

import json

import pytest

from mlstack.config import load_stack
from mlstack.errors import ConfigError, UsageError


def problems_of(path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_stack(path)
    return [p.render() for p in info.value.problems]


def test_bundled_stacks_load(repo_root):
    dev = load_stack("churn-dev")
    prod = load_stack("churn-prod")
    assert (dev.spec.team, dev.spec.environment.value) == ("churn", "dev")
    assert prod.spec.registry.approval_mode.value == "manual"
    assert prod.spec.registry.cross_account_readers == ["345678901234"]
    assert prod.region == "eu-west-1"


def test_rejects_unknown_key_with_suggestion(write_stack):
    path = write_stack({"mlstack:regsitry": {"approvalMode": "manual"}})
    [message] = problems_of(path)
    assert "mlstack:regsitry: unknown key" in message
    assert "did you mean 'registry'" in message
    line = path.read_text().splitlines().index("  mlstack:regsitry:") + 1
    assert message.startswith(f"{path}:{line}: ")


def test_rejects_unknown_nested_key(write_stack):
    path = write_stack({"mlstack:models": [{"name": "churn-xgb", "instanceTyp": "ml.m5.large"}]})
    [message] = problems_of(path)
    assert "mlstack:models[0].instanceTyp: unknown key" in message
    assert "valid keys here: " in message and all(f"{key}," in message for key in ("dataset", "description", "name"))


def test_rejects_empty_team_name(write_stack):
    [message] = problems_of(write_stack({"mlstack:team": ""}))
    assert "mlstack:team" in message and "got ''" in message


def test_rejects_wrong_types_and_reports_every_problem_at_once(write_stack):
    path = write_stack(
        {
            "mlstack:environment": "production",
            "mlstack:accountId": 1234,
            "mlstack:models": [{"name": "Churn_XGB", "dataset": {"uri": "http://data"}}],
        }
    )
    messages = problems_of(path)
    assert len(messages) == 4
    joined = "\n".join(messages)
    assert "mlstack:environment: Input should be 'dev', 'staging' or 'prod' (got 'production')" in joined
    # An unquoted number is read as the text the Pulumi CLI hands the program, then checked.
    assert "mlstack:accountId: has the wrong form (got '1234')" in joined and "quoted in YAML" in joined
    assert "mlstack:models[0].name: has the wrong form (got 'Churn_XGB')" in joined
    assert "mlstack:models[0].dataset.uri: has the wrong form (got 'http://data')" in joined


def test_messages_name_the_file_and_line(write_stack):
    path = write_stack({"mlstack:environment": "qa"})
    [problem] = ConfigError_problems(path)
    assert problem.file and problem.file.endswith("Pulumi.churn-dev.yaml")
    assert problem.line == path.read_text().splitlines().index("  mlstack:environment: qa") + 1


def ConfigError_problems(path):
    with pytest.raises(ConfigError) as info:
        load_stack(path)
    return info.value.problems


def test_rejects_missing_required_keys(write_stack):
    messages = problems_of(write_stack(drop=("mlstack:owner", "mlstack:models")))
    assert any("mlstack:owner: required key is missing" in m for m in messages)
    assert any("mlstack:models: required key is missing" in m for m in messages)


def test_rejects_duplicate_model_names(write_stack):
    [message] = problems_of(write_stack({"mlstack:models": [{"name": "a"}, {"name": "a"}]}))
    assert "model names must be unique" in message and "'a'" in message


def test_rejects_group_name_longer_than_sagemaker_allows(write_stack):
    long = "m" + "-x" * 15 + "y"  # 32 characters: team + model > 63 only with a long team
    path = write_stack({"mlstack:team": "t" * 32, "mlstack:models": [{"name": long}]}, stack=f"{'t' * 32}-dev")
    [message] = problems_of(path)
    assert "SageMaker allows 63" in message


def test_rejects_cross_account_reader_that_is_the_stack_account(write_stack):
    path = write_stack({"mlstack:accountId": "111111111111", "mlstack:registry": {"crossAccountReaders": ["111111111111"]}})
    [message] = problems_of(path)
    assert "stack's own account 111111111111" in message


def test_rejects_reserved_tag_keys(write_stack):
    messages = problems_of(write_stack({"mlstack:tags": {"aws:owner": "x", "mlstack:team": "y"}}))
    assert len(messages) == 2
    assert any("reserved by AWS" in m for m in messages)
    assert any("set by mlstack itself" in m for m in messages)


def test_rejects_unknown_region_with_suggestion(write_stack):
    [message] = problems_of(write_stack({"aws:region": "eu-west-9"}))
    assert "aws:region: is not an AWS region with SageMaker (got 'eu-west-9')" in message
    assert "eu-west-1" in message


def test_rejects_stack_name_that_does_not_match_team_and_environment(write_stack):
    [message] = problems_of(write_stack(stack="fraud-dev"))
    assert "stack 'fraud-dev' does not match team 'churn'" in message


def test_accepts_stack_name_with_suffix(write_stack):
    assert load_stack(write_stack(stack="churn-dev-eu")).stack == "churn-dev-eu"


def test_reports_yaml_syntax_errors_with_line(tmp_path):
    path = tmp_path / "Pulumi.churn-dev.yaml"
    path.write_text("config:\n  mlstack:team: [unclosed\n")
    [problem] = ConfigError_problems(path)
    assert "not valid YAML" in problem.message and problem.line


def test_missing_stack_suggests_close_names(repo_root):
    with pytest.raises(UsageError, match=r"no stack 'churn-prd'.*did you mean churn-prod\?"):
        load_stack("churn-prd")


def test_missing_stack_file_path(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_stack(tmp_path / "Pulumi.nope-dev.yaml")


def test_a_secret_owner_is_refused_because_tags_are_plain_text(write_stack):
    # Secrets are accepted only where the component keeps them secret (tests/test_secrets.py).
    [message] = problems_of(write_stack({"mlstack:owner": {"secure": "v1:abc"}}))
    assert "mlstack:owner: is a secret, but mlstack passes this value to AWS and the Pulumi state in plain text" in message
    assert "v1:abc" not in message


@pytest.mark.parametrize(
    "changes, needle",
    [
        ({"mlstack:team": ""}, "mlstack:team"),
        ({"mlstack:unknown": 1}, "unknown key"),
        ({"mlstack:environment": 3}, "mlstack:environment"),
    ],
)
def test_cli_exits_2_with_message_and_no_traceback(write_stack, cli, changes, needle):
    code, out, err = cli("plan", str(write_stack(changes)))
    assert code == 2
    assert needle in err
    assert "Traceback" not in err + out


def test_cli_missing_stack_exits_2(cli):
    code, _, err = cli("plan", "churn-nope")
    assert code == 2 and "no stack 'churn-nope'" in err


# -- reading the file: encodings, bounds, duplicate keys -----------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be"])
def test_byte_order_marks_are_read_as_the_pulumi_cli_reads_them(write_stack, encoding):
    # Pulumi strips a UTF-8 BOM (workspace/loaders.go) and yaml.v3 reads UTF-16 by its BOM (readerc.go).
    path = write_stack()
    text = path.read_text()
    data = text.encode(encoding) if encoding != "utf-16-be" else b"\xfe\xff" + text.encode("utf-16-be")
    path.write_bytes(data)
    stack = load_stack(path)
    assert (stack.spec.team, stack.lines[("config", "mlstack:owner")]) == ("churn", text.splitlines().index("  mlstack:owner: churn-ml@example.com") + 1)


def test_duplicate_key_names_both_lines_and_the_key_path(tmp_path):
    path = tmp_path / "Pulumi.churn-dev.yaml"
    path.write_text(
        "config:\n"
        "  mlstack:team: churn\n"
        "  mlstack:models:\n"
        "    - name: churn-xgb\n"
        "      dataset: {uri: 's3://a/b/', version: v1}\n"
        "      name: churn-lgbm\n"
    )
    [problem] = ConfigError_problems(path)
    assert problem.path == "mlstack:models[0].name" and problem.line == 6
    assert problem.render() == (
        f"{path}:6: mlstack:models[0].name: the key 'name' is written twice in the same mapping, at lines 4 and 6; "
        "keep one: the Pulumi CLI refuses duplicate keys, and mlstack will not guess which one you meant"
    )


def test_every_duplicate_key_is_reported_at_once(tmp_path):
    path = tmp_path / "Pulumi.churn-dev.yaml"
    path.write_text("config:\n  mlstack:team: a\n  mlstack:team: b\n  mlstack:tags: {x: '1', x: '2'}\nconfig: {}\n")
    problems = ConfigError_problems(path)
    assert [(p.path, p.line) for p in problems] == [("mlstack:team", 3), ("mlstack:tags.x", 4), ("config", 5)]


def test_keys_equal_only_after_yaml_typing_are_duplicates_as_in_the_pulumi_cli(tmp_path):
    # yaml.v3 compares a key's kind and text: '1' and 1 are the same key there.
    path = tmp_path / "Pulumi.churn-dev.yaml"
    path.write_text("config:\n  mlstack:tags: {'1': a, 1: b}\n")
    [problem] = ConfigError_problems(path)
    assert "the key '1' is written twice" in problem.message


def test_merge_keys_may_be_overridden_without_a_duplicate(write_stack):
    path = write_stack()
    path.write_text(
        path.read_text().replace(
            "config:\n", "config:\n  kubernetes:base: &base {owner: a, team: b}\n  kubernetes:derived: {<<: *base, owner: c}\n", 1
        )
    )
    assert load_stack(path).config["kubernetes:derived"] == {"owner": "c", "team": "b"}


def test_duplicate_keys_in_the_project_file_are_refused(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: mlstack\nruntime: python\nname: other\n")
    (tmp_path / "Pulumi.churn-dev.yaml").write_text("config: {}\n")
    with pytest.raises(ConfigError) as info:
        load_stack(tmp_path / "Pulumi.churn-dev.yaml")
    assert info.value.title == "invalid Pulumi project file"
    [problem] = info.value.problems
    assert (problem.path, problem.line) == ("name", 3) and "at lines 1 and 3" in problem.message


def test_alias_bomb_is_refused_in_a_millisecond_without_memory(tmp_path):
    # 9 levels of 9 aliases: 600 bytes naming 387 million values. Before the bound, reading it took
    # 36 s and 3.4 GB before a MemoryError. A child process with 1 GiB of address space keeps a
    # regression from taking this machine down.
    script = f"""
import json, resource, sys, time
sys.setrecursionlimit(10_000)
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from mlstack.config import load_stack
from mlstack.errors import ConfigError
rows = ["config:", "  mlstack:team: churn", "  l0: &l0 [" + ", ".join(["lol"] * 9) + "]"]
rows += [f"  l{{i}}: &l{{i}} [" + ", ".join([f"*l{{i - 1}}"] * 9) + "]" for i in range(1, 10)]
path = {str(tmp_path / "Pulumi.churn-dev.yaml")!r}
open(path, "w").write("\\n".join(rows) + "\\n")
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
cpu = time.process_time()
try:
    load_stack(path)
    message = None
except ConfigError as exc:
    message = exc.problems[0].render()
print(json.dumps({{"cpu": time.process_time() - cpu, "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss, "message": message}}))
"""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout)
    assert figures["message"] == (
        # Line 8, l5: the first level over the bound (9**6 values); the levels above it are never reached.
        f"{tmp_path / 'Pulumi.churn-dev.yaml'}:8: refused: the document holds more than 100000 values once its aliases "
        "(*name) are expanded; write the values out, or split the stack"
    )
    assert figures["cpu"] < 5.0  # about 1 ms here
    assert figures["rss_kib"] < 50 * 1024


def test_stack_file_over_one_mebibyte_is_refused_unread(tmp_path):
    path = tmp_path / "Pulumi.churn-dev.yaml"
    path.write_text("config:\n" + "# padding\n" * 110_000)
    with pytest.raises(UsageError, match=r"the stack file '.*' is larger than 1 MiB, the most mlstack reads"):
        load_stack(path)


def test_values_other_namespaces_hold_reach_the_program_as_json(write_stack):
    # PyYAML gives dates, sets and bytes; the engine hands objects to the program as JSON text.
    path = write_stack()
    path.write_text(path.read_text() + "  kubernetes:x: {day: 2026-11-01, keys: !!set {a}, blob: !!binary aGk=}\n")
    config = load_stack(path).pulumi_config()
    assert json.loads(config["kubernetes:x"]) == {"day": "2026-11-01", "keys": "{'a'}", "blob": "b'hi'"}


def test_line_map_of_an_alias_bomb_is_empty_not_exploded():
    from mlstack.config.yamlfile import line_map

    rows = ["a: &a [x, x, x, x, x, x, x, x, x, x]"] + [f"b{i}: &b{i} [{', '.join(['*a' if i == 0 else f'*b{i - 1}'] * 10)}]" for i in range(8)]
    assert line_map("\n".join(rows)) == {}
    assert line_map("config:\n  mlstack:team: churn\n") == {(): 1, ("config",): 1, ("config", "mlstack:team"): 2}
