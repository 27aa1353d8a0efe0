"""Secrets stay secret; numbers YAML reads for text fields; ESC imports offline.

How the Pulumi CLI stores and hands over config (read in pulumi/pulumi):
- ``pulumi config set --secret --path mlstack:monitors[0].notifications.https[0] URL`` writes a
  ``{secure: <ciphertext>}`` leaf inside the object (sdk/go/common/resource/config/object.go,
  ``isSecureValue``: a map with the single string key ``secure``).
- Under ``pulumi up`` the program gets every value decrypted, objects as JSON, and the list of
  top-level keys holding a secret anywhere (config/map.go ``SecureKeys``,
  ``PULUMI_CONFIG_SECRET_KEYS`` in the Python language host).
- ``--path`` writes digit strings and true/false as YAML integers and booleans
  (config/object.go ``coerce``); ``--type float`` and hand edits give floats.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlstack.config import SECRET, load_stack, secure_keys, spec_from_config
from mlstack.engine import answers_for, run_program
from mlstack.errors import ConfigError
from mlstack.program import main as stack_program

SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
CIPHERTEXT = "v1:Ykq3ZmQ2Nw==:c2VjcmV0LXRva2Vu"
OTHER_CIPHERTEXT = "v1:TWFuIGlzIGRp:c3Rpbmd1aXNoZWQ="
HOOK = "https://events.pager.example.com/integration/abc123token/enqueue"

#: An endpoint and a monitor on the baseline's model (trained elsewhere, so the pack passes).
SERVED: dict[str, Any] = {
    "mlstack:models": [
        {
            "name": "churn-xgb",
            "dataset": {"uri": "s3://example-churn-data/features/", "version": "v3"},
            "source": "s3://partner-models/churn-xgb/",
        }
    ],
    "mlstack:endpoints": [
        {
            "name": "scoring",
            "model": "churn-xgb",
            "instanceType": "ml.m5.large",
            "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-serve:1",
            "artifactsUri": "s3://churn-models/churn-xgb/",
        }
    ],
}


def monitors(https: list[Any], emails: list[Any] | None = None) -> dict[str, Any]:
    notifications: dict[str, Any] = {"https": https}
    if emails is not None:
        notifications["emails"] = emails
    return {**SERVED, "mlstack:monitors": [{"endpoint": "scoring", "notifications": notifications}]}


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_stack(path)
    return [p.render() for p in info.value.problems]


def with_lines(path: Path, *lines: str) -> Path:
    """Append raw ``config:`` entries, written exactly as given (unquoted scalars stay unquoted)."""
    path.write_text(path.read_text() + "".join(f"  {line}\n" for line in lines))
    return path


def reported(err: str) -> list[str]:
    """The problems of a ConfigError as the CLI prints them."""
    return [line for line in err.splitlines() if line.startswith("  - ")]


# -- a secure leaf offline: accepted where it stays secret, shown as [secret] --------------------


def test_secret_https_url_is_accepted_offline_and_planned_as_a_secret(write_stack, plan):
    path = write_stack(monitors([{"secure": CIPHERTEXT}], emails=["oncall@example.com"]))
    stack = load_stack(path)
    assert stack.secret_keys() == ["mlstack:monitors"]
    assert stack.spec.monitors[0].notifications.https == ["https://[secret]"]

    graph = plan(path)
    # The key holds a secret, so every subscription endpoint under it is registered as one.
    assert sorted(r.inputs["endpoint"] for r in graph.by_type(SUBSCRIPTION)) == [SECRET, SECRET]
    assert CIPHERTEXT not in graph.dumps() and "https://[secret]" not in graph.dumps()


def test_without_a_secret_the_same_endpoints_stay_readable(write_stack, plan):
    graph = plan(write_stack(monitors([HOOK], emails=["oncall@example.com"])))
    assert sorted(r.inputs["endpoint"] for r in graph.by_type(SUBSCRIPTION)) == [HOOK, "oncall@example.com"]


def test_distinct_secrets_in_one_list_are_not_taken_for_duplicates(write_stack):
    stack = load_stack(write_stack(monitors([{"secure": CIPHERTEXT}, {"secure": OTHER_CIPHERTEXT}])))
    assert stack.spec.monitors[0].notifications.https == ["https://[secret]", "https://[secret-2]"]


def test_cli_plan_json_shows_secret_and_never_the_ciphertext(write_stack, cli):
    path = write_stack(monitors([{"secure": CIPHERTEXT}]))
    code, out, err = cli("plan", str(path), "--json", "-")
    assert (code, err) == (0, "")
    [subscription] = [r for r in json.loads(out)["resources"] if r["type"] == SUBSCRIPTION]
    assert subscription["inputs"]["endpoint"] == SECRET
    assert CIPHERTEXT not in out


def test_cli_check_passes_a_stack_with_a_secret_webhook(write_stack, cli):
    code, out, err = cli("check", str(write_stack(monitors([{"secure": CIPHERTEXT}]))))
    assert code == 0, out + err
    assert CIPHERTEXT not in out + err


@pytest.mark.parametrize(
    "changes, expected",
    [
        (
            {"mlstack:monitors": [{"endpoint": "scoring", "alarms": {"latencyP99Ms": {"secure": CIPHERTEXT}}}]},
            "mlstack:monitors[0].alarms.latencyP99Ms: is a secret where a number is required",
        ),
        (
            {"mlstack:environment": {"secure": CIPHERTEXT}},
            "mlstack:environment: is a secret where one of dev, staging, prod is required",
        ),
        (
            {"mlstack:monitors": [{"endpoint": "scoring", "dashboard": {"secure": CIPHERTEXT}}]},
            "mlstack:monitors[0].dashboard: is a secret where true or false is required",
        ),
        (
            {"mlstack:monitors": {"secure": CIPHERTEXT}},
            "mlstack:monitors: is a secret as a whole; mlstack needs its structure to plan the stack; make only the text values inside it secret",
        ),
        (
            {"mlstack:tags": {"billing": {"secure": CIPHERTEXT}}},
            "mlstack:tags.billing: is a secret, but mlstack passes this value to AWS and the Pulumi state in plain text",
        ),
    ],
)
def test_a_secret_where_mlstack_cannot_keep_or_check_it_exits_2_at_its_key(write_stack, cli, changes, expected):
    path = write_stack({**SERVED, **changes})
    code, out, err = cli("plan", str(path))
    assert code == 2
    assert expected in err
    assert "Traceback" not in err and CIPHERTEXT not in err + out
    # One problem per secret: the stand-in value is not reported a second time by validation.
    assert len(reported(err)) == 1


def test_a_secret_region_is_refused_without_showing_the_ciphertext(write_stack):
    [message] = problems(write_stack({"aws:region": {"secure": CIPHERTEXT}}))
    assert "aws:region: is a secret; mlstack needs the region to plan the stack" in message
    assert CIPHERTEXT not in message


def test_refusal_names_the_fields_that_accept_secrets(write_stack):
    [message] = problems(write_stack({"mlstack:costCenter": {"secure": CIPHERTEXT}}))
    assert message.endswith("secrets are accepted in mlstack:monitors[].notifications.emails, mlstack:monitors[].notifications.https")


# -- under `pulumi up`: plaintext values, the key marked secret -----------------------------------


def deploy_time_config(path: Path) -> dict[str, str]:
    """The config as the engine hands it to the program: decrypted, objects as JSON."""
    return load_stack(path).pulumi_config()


def run_deploy(path: Path, secret_keys: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, dict[str, Any]]:
    """Run the stack program under mocks with ``secret_keys``; also keep the raw (wire) inputs
    of each subscription, before the recorder turns secret envelopes into [secret]."""
    from mlstack.engine.cloud import OfflineCloud

    raw: dict[str, Any] = {}
    outputs = OfflineCloud.outputs

    def keep(self, type_, name, urn, inputs, custom):
        if type_ == SUBSCRIPTION:
            raw[name] = inputs
        return outputs(self, type_, name, urn, inputs, custom)

    monkeypatch.setattr(OfflineCloud, "outputs", keep)
    stack = load_stack(path)
    graph = run_program(
        stack_program, project="mlstack", stack=stack.stack, config=deploy_time_config(path), answers=answers_for(stack), secret_keys=secret_keys
    )
    return graph, raw


def test_under_pulumi_up_a_secret_key_makes_the_webhook_a_secret_output(write_stack, monkeypatch):
    from pulumi.runtime import rpc

    path = write_stack(monitors([HOOK]))  # decrypted, as the program sees it
    graph, raw = run_deploy(path, ["mlstack:monitors"], monkeypatch)
    [record] = graph.by_type(SUBSCRIPTION)
    assert record.inputs["endpoint"] == SECRET
    [inputs] = raw.values()
    assert inputs["endpoint"] == {rpc._special_sig_key: rpc._special_secret_sig, "value": HOOK}


def test_under_pulumi_up_without_a_secret_key_the_webhook_is_plain(write_stack, monkeypatch):
    graph, raw = run_deploy(write_stack(monitors([HOOK])), [], monkeypatch)
    [inputs] = raw.values()
    assert inputs["endpoint"] == HOOK


def test_under_pulumi_up_a_secret_key_with_nothing_that_can_stay_secret_is_refused():
    config = {"mlstack:team": "churn", "mlstack:environment": "dev", "mlstack:owner": "o@example.com", "mlstack:models": '[{"name": "m"}]'}
    with pytest.raises(ConfigError) as info:
        spec_from_config(config, secret_keys=["mlstack:owner"])
    [problem] = info.value.problems
    assert problem.path == "mlstack:owner" and "would not stay secret" in problem.message


def test_secure_keys_are_the_top_level_keys_holding_a_secret_anywhere():
    config = {
        "mlstack:monitors": json.dumps([{"notifications": {"https": [{"secure": CIPHERTEXT}]}}]),
        "mlstack:owner": {"secure": CIPHERTEXT},
        "mlstack:models": [{"name": "m", "description": {"secure": CIPHERTEXT, "other": "x"}}],  # not a secure leaf
        "aws:region": "eu-west-1",
    }
    assert secure_keys(config) == ["mlstack:monitors", "mlstack:owner"]


# -- numbers and booleans YAML gives for text fields ------------------------------------------------


def test_unquoted_numbers_for_text_fields_read_as_the_cli_hands_them_over(write_stack):
    path = with_lines(
        write_stack(drop=("mlstack:models",)),
        "mlstack:accountId: 210987654321",
        "mlstack:gitCommit: 1234567",
        "mlstack:tags: {release: 2026, canary: true}",
        "mlstack:models:",
        "  - {name: churn-xgb, dataset: {uri: 's3://example-churn-data/features/', version: 1.4}}",
    )
    spec = load_stack(path).spec
    assert (spec.account_id, spec.git_commit, spec.models[0].dataset.version) == ("210987654321", "1234567", "1.4")
    assert spec.tags == {"release": "2026", "canary": "true"}
    # Under `pulumi up` the program gets the same values as JSON and reads the same spec.
    assert spec_from_config(deploy_time_config(path))[0] == spec


@pytest.mark.parametrize(
    "line, expected",
    [
        ("mlstack:gitCommit: 1.40", "mlstack:gitCommit: the Pulumi CLI reads the unquoted 1.40 as a number and hands the program '1.4'; quote it (\"1.40\")"),
        ("mlstack:accountId: 012345678901", "mlstack:accountId: the Pulumi CLI reads the unquoted 012345678901 as a number and hands the program '12345678901'"),
        ("mlstack:tags: {build: 0123}", "mlstack:tags.build: the Pulumi CLI reads the unquoted 0123 as a number and hands the program '83'"),
        ("mlstack:tags: {release: 2026-11-01}", "mlstack:tags.release: the Pulumi CLI reads the unquoted 2026-11-01 as a timestamp"),
        ("mlstack:costCenter: True", "mlstack:costCenter: the Pulumi CLI reads the unquoted True as a boolean and hands the program 'true'"),
    ],
)
def test_scalars_the_cli_would_change_are_refused_with_a_hint_to_quote(write_stack, cli, line, expected):
    path = with_lines(write_stack(), line)
    code, _, err = cli("plan", str(path))
    assert code == 2
    assert expected in err
    assert len(reported(err)) == 1  # not a second time as a type error


def test_quoted_values_stay_as_written(write_stack):
    path = with_lines(write_stack(), 'mlstack:costCenter: "1.40"', 'mlstack:tags: {build: "0123", release: "2026-11-01"}')
    spec = load_stack(path).spec
    assert spec.cost_center == "1.40" and spec.tags == {"build": "0123", "release": "2026-11-01"}


def test_numbers_stay_numbers_where_a_number_is_required(write_stack):
    spec = load_stack(write_stack({**SERVED, "mlstack:monitors": [{"endpoint": "scoring", "alarms": {"latencyP99Ms": 250}}]})).spec
    assert spec.monitors[0].alarms.latency_p99_ms == 250.0


# -- ESC environments ---------------------------------------------------------------------------------


def write_with_environment(write_stack, environment: Any, **kwargs: Any) -> Path:
    path = write_stack(**kwargs)
    document = yaml.safe_load(path.read_text())
    document["environment"] = environment
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_esc_imports_warn_on_stderr_and_the_plan_still_runs(write_stack, cli):
    path = write_with_environment(write_stack, ["churn/aws-prod", "shared/pager"])
    code, out, err = cli("plan", str(path))
    assert code == 0
    assert "mlstack: warning:" in err and "imports the Pulumi ESC environments churn/aws-prod, shared/pager" in err
    assert "cannot open ESC environments offline" in err
    assert "warning" not in out


def test_esc_warning_is_printed_once_by_check(write_stack, cli):
    path = write_with_environment(write_stack, {"imports": ["churn/aws-prod"], "values": {"pulumiConfig": {"mlstack:owner": "x"}}})
    code, _, err = cli("check", str(path))
    assert code == 0
    assert err.count("mlstack: warning:") == 1
    assert "imports the Pulumi ESC environment churn/aws-prod and defines ESC values inline;" in err


def test_a_required_key_missing_under_esc_says_it_may_come_from_there(write_stack, cli):
    path = write_with_environment(write_stack, ["churn/ownership"], drop=("mlstack:owner",))
    code, _, err = cli("plan", str(path))
    assert code == 2
    assert (
        "mlstack:owner: required key is missing; add this key; the stack file imports the Pulumi ESC environment "
        "churn/ownership, which may set it, but mlstack cannot read ESC offline" in err
    )


def test_without_esc_a_missing_key_says_only_to_add_it(write_stack):
    [message] = problems(write_stack(drop=("mlstack:owner",)))
    assert message.endswith("mlstack:owner: required key is missing; add this key")


def test_json_schema_accepts_secure_leaves_only_where_a_secret_may_stand():
    import jsonschema

    from mlstack.schema import stack_config_schema

    schema = stack_config_schema()
    doc = yaml.safe_load((Path(__file__).resolve().parent.parent / "stacks" / "Pulumi.churn-prod.yaml").read_text())
    notifications = doc["config"]["mlstack:monitors"][0].setdefault("notifications", {})
    notifications["https"] = [{"secure": "v1:ciphertext"}]
    jsonschema.validate(doc, schema)
    notifications["https"] = [{"secure": 1}]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)
    doc["config"]["mlstack:owner"] = {"secure": "v1:ciphertext"}
    notifications["https"] = []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)
