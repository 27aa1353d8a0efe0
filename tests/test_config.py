"""Stack files: validation, every problem at once, file/line/key/value in each message, exit 2."""

from __future__ import annotations

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
