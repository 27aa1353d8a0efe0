"""Every command over hostile inputs: never a traceback, never an exit code but 0/1/2, never
an uncaught exception, never a changed or left-over file.

This is mlstack's regression file of hostile inputs. To add a case, add a row:

- a bad stack file to ``STACK_FILES`` (it runs under every command that reads a stack),
- a bad output path to ``OUTPUTS`` (it runs under every command that writes a file),
- anything else to ``ROWS`` (one command line, the files it needs, the exit code and message).

In ``argv``, ``{tmp}`` is the test's directory and ``{stack}`` the stack file written there.
Unforeseen errors run with ``MLSTACK_DEBUG=1``, so they surface as exceptions, not as the
one-line "internal error" users see.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Union

import pytest
import yaml

from conftest import BASELINE, ROOT

Content = Union[str, bytes, Callable[[Path], None]]
"""A file's text, its bytes, or a function that makes it at the given path (a link, a fifo)."""

STACK_NAME = "Pulumi.churn-dev.yaml"
CUSTOMERS = {
    "name": "customers",
    "recordIdentifier": "customer_id",
    "eventTime": "event_time",
    "features": [{"name": "customer_id", "type": "String"}, {"name": "event_time", "type": "String"}],
}
VALID_STACK = yaml.safe_dump({"config": {**BASELINE, "mlstack:featureGroups": [CUSTOMERS]}}, sort_keys=False)
KSERVE_STACK = yaml.safe_dump({"config": {**BASELINE, "kubernetes:context": "gpu", "mlstack:endpoints": [
    {"name": "defects", "model": "churn-xgb", "backend": "kserve", "kserve": {"modelFormat": {"name": "pytorch"}, "storageUri": "s3://example-models/d/4/"}}]}},
    sort_keys=False)
TEAM_LINE = VALID_STACK.splitlines().index("  mlstack:team: churn") + 1
APPENDED_LINE = VALID_STACK.count("\n") + 1
#: Reaches no AWS: every hostile row must stop before the first call (or fail fast on this port).
AWS = ("--endpoint-url", "http://127.0.0.1:9", "--max-attempts", "1", "--region", "eu-west-1")


def stack_with(text: str) -> str:
    """The valid stack file with ``text`` appended under ``config:`` (at line APPENDED_LINE)."""
    return VALID_STACK + text


def stack_with_models(models: list) -> str:
    """The valid stack file with ``mlstack:models`` replaced."""
    return yaml.safe_dump({"config": {**BASELINE, "mlstack:featureGroups": [CUSTOMERS], "mlstack:models": models}}, sort_keys=False)


def bomb(levels: int = 9, fanout: int = 9) -> str:
    """A "billion laughs": 600 bytes that expand to fanout**levels values (387 million)."""
    rows = [f"  l0: &l0 [{', '.join(['lol'] * fanout)}]"]
    rows += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fanout)}]" for i in range(1, levels + 1)]
    return stack_with("\n".join(rows) + "\n")


def nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def symlink_to(target: str) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(path.parent / target)


def hard_link_to(target: str) -> Callable[[Path], None]:
    return lambda path: os.link(path.parent / target, path)


# -- stack files: each runs under plan, check, validate-data, promote, verify and status ---------

STACK_FILES: dict[str, tuple[Content, str]] = {
    # id: (content of {stack}, what the message says)
    "latin-1": (b"config:\n  mlstack:team: caf\xe9\n", "is not UTF-8 text (byte 0xe9 at offset 27); save it as UTF-8"),
    "binary": (bytes(range(256)) * 8, "is a binary file"),
    "nul-bytes": (b"config:\n  mlstack:team: a\x00b\n", "is a binary file"),
    "utf-16-without-bom": (stack_with("").encode("utf-16-le"), "UTF-16 text without a byte order mark"),
    # Decoded as the Pulumi CLI does (yaml.v3 reads UTF-16 by its BOM), then validated:
    "utf-16-with-bom": (stack_with("  mlstack:ownr: x\n").encode("utf-16"), f":{APPENDED_LINE}: mlstack:ownr: unknown key"),
    "too-large": ("#" * (1 << 20) + "\nconfig: {}\n", "is larger than 1 MiB"),
    "alias-bomb": (bomb(), "more than 100000 values once its aliases"),
    "alias-to-itself": ("config:\n  mlstack:models: &a [*a]\n", "refers to the list or mapping that contains it"),
    "alias-to-nothing": ("config:\n  mlstack:team: *nothing\n", "found undefined alias 'nothing'"),
    "deep-nesting": ("config:\n  mlstack:tags: " + nested_json(200) + "\n", "nest more than 64 levels"),
    "deep-json-string": ("config:\n  mlstack:models: '" + nested_json(5000) + "'\n", "more than 64 levels deep"),
    "tabs": ("config:\n\tmlstack:team: churn\n", "indent with spaces"),
    "duplicate-key": (
        stack_with("  mlstack:team: fraud\n"),
        f":{APPENDED_LINE}: mlstack:team: the key 'mlstack:team' is written twice in the same mapping, at lines {TEAM_LINE} and {APPENDED_LINE}",
    ),
    "duplicate-nested-key": (
        stack_with("  mlstack:registry: {approvalMode: manual, approvalMode: automatic}\n"),
        f"mlstack:registry.approvalMode: the key 'approvalMode' is written twice in the same mapping, at lines {APPENDED_LINE} and {APPENDED_LINE}",
    ),
    "duplicate-after-namespacing": (
        stack_with("  team: fraud\n"), f"is written twice, as 'mlstack:team' (line {TEAM_LINE}) and 'team' (line {APPENDED_LINE})"
    ),
    "not-a-mapping": ("- config\n- team\n", "a stack file is a mapping"),
    "config-a-list": ("config: [a, b]\n", "a stack file is a mapping"),
    "two-documents": ("config: {}\n---\nconfig: {}\n", "expected a single document"),
    "impossible-date": (stack_with("  mlstack:costCenter: 2024-02-30\n"), "'2024-02-30' cannot be read as timestamp"),
    "quality-threshold-nan": (
        stack_with("  mlstack:monitors: [{endpoint: scoring, quality: {groundTruthUri: 's3://labels-bucket/gt/', problemType: binary, thresholds: {accuracy: .nan}}}]\n"),
        "mlstack:monitors[0].quality.thresholds.accuracy: nan is not a finite number",
    ),
    "5000-digit-number": (stack_with("  mlstack:costCenter: " + "9" * 5000 + "\n"), "cannot be read as int"),
    "bad-float-tag": (stack_with("  mlstack:costCenter: !!float abc\n"), "cannot be read as float"),
    "python-object-tag": (stack_with("  mlstack:costCenter: !!python/object/apply:os.system [echo]\n"), "could not determine a constructor"),
    "unhashable-key": ("config:\n  ? [a, b]\n  : c\n", "found unhashable key"),
    "set-and-binary-elsewhere": (stack_with("  kubernetes:x: {a: !!set {b}, c: !!binary aGk=}\n  mlstack:ownr: x\n"), "mlstack:ownr: unknown key"),
    "slo-nan": (stack_with("  mlstack:endpoints: [{name: s, model: churn-xgb, image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1, "
                           "artifactsUri: 's3://bucket-a/m/', instanceType: ml.m5.large, slo: {availability: .nan}}]\n"),
                "mlstack:endpoints[0].slo.availability: Input should be a finite number"),
    "source-a-list": (stack_with_models([{"name": "churn-xgb", "source": ["a", "b"]}]), "mlstack:models[0].source: Input should be a valid string"),
    "source-registry-not-an-arn": (
        stack_with_models([{"name": "churn-xgb", "source": {"registry": {"a": 1}, "artifactsKeyArn": "x"}}]),
        "mlstack:models[0].source.registry: Input should be a valid string",
    ),
    "waiver-not-a-urn": (
        stack_with('  mlstack:waivers: [{policy: mlstack-x, resource: "*", reason: a long enough reason, owner: me, expires: "2999-01-01"}]\n'),
        "mlstack:waivers[0].resource: must be a resource URN",
    ),
    "waiver-that-never-expires": (
        stack_with('  mlstack:waivers: [{policy: mlstack-x, resource: stack, reason: a long enough reason, owner: me, expires: "2999-01-01"}]\n'),
        "mlstack:waivers[0].expires: is 2999-01-01, more than 366 days ahead",
    ),
    "waiver-unquoted-date": (
        stack_with("  mlstack:waivers: [{policy: mlstack-x, resource: stack, reason: a long enough reason, owner: me, expires: 2999-01-01}]\n"),
        "mlstack:waivers[0].expires: the Pulumi CLI reads the unquoted 2999-01-01 as a timestamp",
    ),
    "waiver-without-reason": (
        stack_with('  mlstack:waivers: [{policy: mlstack-x, resource: stack, owner: me, expires: "2999-01-01"}]\n'), "mlstack:waivers[0].reason"
    ),
    "directory": (lambda path: path.mkdir(), "it is a directory, not a file"),
    "fifo": (lambda path: os.mkfifo(path), "it is not a regular file"),
    "link-loop": (lambda path: path.symlink_to(path), "too many levels of symbolic links"),
}

STACK_COMMANDS: dict[str, tuple[str, ...]] = {
    "plan": ("plan", "{stack}"),
    "check": ("check", "{stack}"),
    "validate-data": ("validate-data", "{stack}", "customers", str(ROOT / "examples/data/customers-good.csv")),
    "promote": ("promote", "{stack}", "--model", "churn-xgb", *AWS),
    "verify": ("verify", "{stack}", *AWS),
    "status": ("status", "{stack}", *AWS),
    "card": ("card", "{stack}", "--model", "churn-xgb"),
    "lineage": ("lineage", "{stack}"),
    "preflight": ("preflight", "{stack}", *AWS),
    "cost": ("cost", "{stack}"),
}

# -- output paths: each runs under every command that writes a file ------------------------------

OUTPUTS: dict[str, tuple[str, Mapping[str, Content], str]] = {
    # id: (the path, extra files, what the message says)
    "missing-directory": ("{tmp}/missing/out.json", {}, "the directory '{tmp}/missing' does not exist"),
    "a-directory": ("{tmp}", {}, "it is a directory"),
    "under-a-file": ("{tmp}/data.txt/out.json", {"data.txt": "x"}, "a part of the path is not a directory"),
    "name-too-long": ("{tmp}/" + "o" * 300 + ".json", {}, "too long"),
    "path-too-long": ("{tmp}/" + "d" * 300 + "/out.json", {}, "too long"),
    "empty": ("", {}, "give a file path"),
}

OUTPUT_COMMANDS: dict[str, tuple[str, ...]] = {
    "plan": ("plan", "{stack}", "--json", "{out}"),
    "check": ("check", "{stack}", "--json", "{out}"),
    "check-sarif": ("check", "{stack}", "--format", "sarif", "--output", "{out}"),
    "plan-import-file": ("plan", "{stack}", "--import-file", "{out}"),
    "schema": ("schema", "--output", "{out}"),
    "status": ("status", "{stack}", "--json", "{out}", *AWS),
    "lineage": ("lineage", "{stack}", "--output", "{out}"),
    "preflight": ("preflight", "{stack}", "--json", "{out}", *AWS),
    "cost": ("cost", "{stack}", "--json", "{out}"),
}

# Outputs that would overwrite an input: refused for every command that reads a stack.
OVER_INPUTS: dict[str, tuple[str, Mapping[str, Content], str]] = {
    "the-stack-file": ("{stack}", {}, "is the stack file this command reads"),
    "a-symlink-to-it": ("{tmp}/out.json", {"out.json": symlink_to(STACK_NAME)}, "is the stack file this command reads"),
    "a-hard-link-to-it": ("{tmp}/out.json", {"out.json": hard_link_to(STACK_NAME)}, "is the stack file this command reads"),
    "the-same-by-another-path": ("{tmp}/./sub/../" + STACK_NAME, {"sub": lambda p: p.mkdir()}, "is the stack file this command reads"),
    "the-project-file": ("{tmp}/Pulumi.yaml", {"Pulumi.yaml": "name: mlstack\nruntime: python\n"}, "is the Pulumi project file this command reads"),
}


# -- anything else: one command line each ---------------------------------------------------------


@dataclass(frozen=True)
class Row:
    argv: tuple[str, ...]
    says: str
    code: int = 2
    files: Mapping[str, Content] = field(default_factory=dict)
    debug: bool = True
    """False: run as users do, without MLSTACK_DEBUG (for errors that are the input's, not mlstack's)."""


def program(source: str) -> dict[str, Content]:
    """A project whose Pulumi program (main: prog/) is ``source``."""
    return {"Pulumi.yaml": "name: mlstack\nruntime: python\nmain: prog/\n", "prog": lambda p: p.mkdir(), "prog/__main__.py": source}


ROWS: dict[str, Row] = {
    "data-nested-json": Row(
        ("validate-data", "{stack}", "customers", "{tmp}/deep.jsonl"), "nested too deeply to read", 1, {"deep.jsonl": nested_json(100_000) + "\n"}
    ),
    "data-file-a-directory": Row(("validate-data", "{stack}", "customers", "{tmp}"), "it is a directory"),
    "data-path-too-long": Row(("validate-data", "{stack}", "customers", "{tmp}/" + "d" * 300 + ".csv"), "too long"),
    "policy-config-binary": Row(("check", "{stack}", "--config", "{tmp}/policy.json"), "is a binary file", files={"policy.json": b"\x00\x01\x02" * 50}),
    "policy-config-latin-1": Row(("check", "{stack}", "--config", "{tmp}/policy.json"), "is not UTF-8 text", files={"policy.json": b'{"a": "\xe9"}'}),
    "policy-config-nested": Row(("check", "{stack}", "--config", "{tmp}/policy.json"), "nest too deeply", files={"policy.json": nested_json(100_000)}),
    "policy-config-directory": Row(("check", "{stack}", "--config", "{tmp}"), "it is a directory"),
    "policy-config-is-the-output": Row(
        ("check", "{stack}", "--config", "{tmp}/policy.json", "--json", "{tmp}/policy.json"), "is the policy pack config this command reads", files={"policy.json": "{}"}
    ),
    "verify-outputs-binary": Row(("verify", "{stack}", "--outputs", "{tmp}/out.json", *AWS), "is a binary file", files={"out.json": b"\x00" * 64}),
    "verify-outputs-nested": Row(("verify", "{stack}", "--outputs", "{tmp}/out.json", *AWS), "is not JSON", files={"out.json": nested_json(100_000)}),
    "verify-outputs-directory": Row(("verify", "{stack}", "--outputs", "{tmp}", *AWS), "cannot read --outputs"),
    **{
        f"verify-kubeconfig-{name}": Row(("verify", "{stack}", "--kubeconfig", "{tmp}/kubeconfig", *AWS), says, files={STACK_NAME: KSERVE_STACK, "kubeconfig": content})
        for name, content, says in (
            ("binary", b"\x00\x01\x02" * 64, "is a binary file"),
            ("directory", lambda p: p.mkdir(), "it is a directory"),
            ("not-a-mapping", "- clusters\n", "is not a YAML mapping"),
            ("nested", "[" * 100_000, "kubeconfig {tmp}/kubeconfig nests too deeply to read"),
            ("python-tag", "!!python/object/apply:os.system [echo]\n", "is not YAML"),
            ("context-missing", "apiVersion: v1\nclusters: []\ncontexts: []\nusers: []\n", "has no context 'gpu' (it has: none)"),
            ("clusters-a-string", "clusters: x\n", "clusters is not a list"),
            ("server-a-number", "current-context: gpu\nclusters: [{name: c, cluster: {server: 5}}]\ncontexts: [{name: gpu, context: {cluster: c}}]\n",
             "no usable server URL (got 5)"),
        )
    },
    "stack-name-too-long": Row(("plan", "s" * 300), "too long"),
    "stack-empty-name": Row(("plan", ""), "no stack ''"),
    "stack-a-device": Row(("plan", "/dev/zero"), "it is not a regular file"),
    "stack-path-under-a-file": Row(("plan", "{stack}/Pulumi.x-dev.yaml"), "does not exist"),
    "project-not-a-mapping": Row(("plan", "{stack}"), "a Pulumi project file is a mapping of keys", files={"Pulumi.yaml": "- name\n"}),
    "project-main-a-list": Row(("plan", "{stack}"), "main: is a path relative to Pulumi.yaml, a string, not a list", files={"Pulumi.yaml": "name: mlstack\nmain: [a, b]\n"}),
    "project-name-a-number": Row(("plan", "{stack}"), "name: a Pulumi project file needs a 'name': a non-empty string (got 5)", files={"Pulumi.yaml": "name: 5\n"}),
    "project-duplicate-key": Row(("plan", "{stack}"), "'main' is written twice in the same mapping, at lines 2 and 3", files={"Pulumi.yaml": "name: mlstack\nmain: a/\nmain: b/\n"}),
    "project-binary": Row(("plan", "{stack}"), "is a binary file", files={"Pulumi.yaml": b"\x7fELF\x00\x00"}),
    "project-a-directory": Row(("plan", "{stack}"), "it is a directory", files={"Pulumi.yaml": lambda p: p.mkdir()}),
    "plan-program-syntax-error": Row(("plan", "{stack}"), "the stack's program failed: SyntaxError", files=program("def (:\n"), debug=False),
    "plan-program-raises": Row(
        ("plan", "{stack}"), "the stack's program failed: RuntimeError: boom (at {tmp}/prog/__main__.py:2)", files=program("import os\nraise RuntimeError('boom')\n"), debug=False
    ),
    "plan-program-exits": Row(("plan", "{stack}"), "the program called sys.exit(3) before it finished", files=program("import sys\nsys.exit(3)\n"), debug=False),
    "check-program-raises": Row(("check", "{stack}"), "the stack's program failed: RuntimeError: boom", files=program("raise RuntimeError('boom')\n"), debug=False),
    "data-file-a-device": Row(("validate-data", "{stack}", "customers", "/dev/zero", "--format", "csv"), "it is not a regular file"),
    "output-to-a-full-device": Row(("schema", "--output", "/dev/full"), "no space left on the device; nothing was written"),
    "audit-governance-in-prod": Row(
        ("audit", "verify", "{tmp}/Pulumi.churn-prod.yaml", *AWS), "mlstack:audit.mode: is governance, which lets privileged principals delete records",
        files={"Pulumi.churn-prod.yaml": yaml.safe_dump({"config": {**BASELINE, "mlstack:environment": "prod", "mlstack:audit": {"mode": "governance"}}})},
    ),
    "audit-retention-in-weeks": Row(
        ("plan", "{tmp}/Pulumi.churn-prod.yaml"), "mlstack:audit.retention: is a number of days or years such as 90d or 7y",
        files={"Pulumi.churn-prod.yaml": yaml.safe_dump({"config": {**BASELINE, "mlstack:audit": {"enabled": True, "retention": "52w"}}})},
    ),
    "audit-head-not-a-digest": Row(("audit", "verify", "{stack}", "--head", "3:abc", *AWS), "--head '3:abc' is not SEQ:DIGEST"),
    "audit-public-key-binary": Row(("audit", "verify", "{stack}", "--public-key", "{tmp}/key.pem", *AWS), "is a binary file", files={"key.pem": b"\x30\x82\x00" * 40}),
    "audit-public-key-not-p256": Row(
        ("audit", "verify", "{stack}", "--public-key", "{tmp}/key.pem", *AWS), "is not a PEM public key", files={"key.pem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}
    ),
    "audit-log-off": Row(("audit", "verify", "{stack}", *AWS), "has no decision log (mlstack:audit is off in dev)"),
    "max-errors-not-a-number": Row(("validate-data", "{stack}", "customers", "x.csv", "--max-errors", "many"), "invalid int value"),
    "no-stack-argument": Row(("plan",), "the following arguments are required"),
    "policy-pack-build-over-a-file": Row(("policy-pack", "build", "{stack}"), "exists and is not a directory"),
    "card-unknown-model": Row(("card", "{stack}", "--model", "churn-xgboost"), "mlstack:models has no model 'churn-xgboost' (declared: churn-xgb)"),
    "card-model-without-card": Row(("card", "{stack}", "--model", "churn-xgb"), "declares no card; add mlstack:models[0].card"),
    "card-version-not-a-number": Row(("card", "{stack}", "--model", "churn-xgb", "--version", "1e3"), "a version is a whole number from 1 (got '1e3')"),
    "card-rating-a-list": Row(("card", "{stack}", "--model", "churn-xgb", "--format", "html"), "mlstack:models[0].card.riskRating: Input should be", files={
        STACK_NAME: yaml.safe_dump({"config": {**BASELINE, "mlstack:models": [{"name": "churn-xgb", "dataset": {"uri": "s3://example-data/"}, "card": {
            "owner": "a", "intendedUses": "b", "outOfScopeUses": "c", "riskRating": ["High"], "ethicalConsiderations": "d", "caveats": "e"}}]}}),
    }),
    "lineage-format-unknown": Row(("lineage", "{stack}", "--format", "svg"), "invalid choice: 'svg'"),
    "budget-empty": Row(("plan", "{stack}"), "mlstack:budget: give monthlyUsd, monthlyGpuHours or both", files={"Pulumi.churn-dev.yaml": stack_with("  mlstack:budget: {}\n")}),
    "budget-negative-and-infinite": Row(
        ("cost", "{stack}"), "mlstack:budget.monthlyGpuHours: Input should be less than or equal to 1000000000 (got inf)",
        files={"Pulumi.churn-dev.yaml": stack_with("  mlstack:budget: {monthlyUsd: -5, monthlyGpuHours: .inf}\n")},
    ),
    "cost-price-file-not-json": Row(("cost", "{stack}", "--prices", "{tmp}/p.json"), "p.json: not JSON", files={"p.json": "{"}),
    "cost-price-file-nan": Row(
        ("cost", "{stack}", "--prices", "{tmp}/p.json"), "instances.endpoint.ml.m5.large: nan is not a price",
        files={"p.json": '{"format": "mlstack-prices/1", "region": "eu-west-1", "retrieved": "2026-11-28", "instances": {"endpoint": {"ml.m5.large": NaN}}}'},
    ),
    "cost-price-file-of-another-region": Row(
        ("cost", "{stack}", "--prices", "{tmp}/p.json"), "holds prices of us-east-1, not eu-west-1",
        files={"p.json": '{"format": "mlstack-prices/1", "region": "us-east-1", "retrieved": "2026-11-28", "instances": {}}'},
    ),
    "cost-price-file-binary": Row(("cost", "{stack}", "--prices", "{tmp}/p.json"), "is a binary file", files={"p.json": b"\x7fELF\x00\x00\xff\xfe" * 40}),
    "cost-price-file-missing": Row(("cost", "{stack}", "--prices", "{tmp}/none.json"), "does not exist"),
    "plan-project-price-file-not-json": Row(
        ("plan", "{stack}"), "prices/eu-west-1.json: not JSON", files={"prices": lambda p: p.mkdir(), "prices/eu-west-1.json": "{"}
    ),
    "prices-update-unknown-region": Row(("prices", "update", "--region", "mars-north-1", *AWS[:4]), "not a region where botocore knows SageMaker"),
    "prices-update-without-region": Row(("prices", "update", *AWS[:4]), "--region is required"),
    "prices-update-output-missing-directory": Row(
        ("prices", "update", "--region", "eu-west-1", "--output", "{tmp}/missing/p.json", *AWS[:4]), "does not exist"
    ),
    "policy-pack-build-path-too-long": Row(("policy-pack", "build", "{tmp}/" + "d" * 300 + "/pack"), "File name too long"),
}


# -- the harness ------------------------------------------------------------------------------------


@pytest.fixture
def run(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """run(argv, files, stack=...) -> (code, out, err); asserts the invariants of every row."""
    monkeypatch.setenv("MLSTACK_DEBUG", "1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))

    def go(argv: tuple[str, ...], files: Mapping[str, Content], *, stack: Content = VALID_STACK, out: str = "", debug: bool = True) -> tuple[int, str, str]:
        if not debug:
            monkeypatch.delenv("MLSTACK_DEBUG")
        made = {STACK_NAME: stack, **files}
        for name, content in made.items():
            path = tmp_path / name
            if callable(content):
                content(path)
            elif isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        before = _snapshot(tmp_path)
        values = {"tmp": str(tmp_path), "stack": str(tmp_path / STACK_NAME), "out": out.format(tmp=tmp_path, stack=tmp_path / STACK_NAME)}
        code, stdout, stderr = cli(*(arg.format(**values) for arg in argv))
        for text in (stdout, stderr):
            assert "Traceback" not in text, text
            assert "internal error" not in text, text
        assert code in (0, 1, 2), (code, stderr)
        assert _snapshot(tmp_path) == before, "a file was changed, removed or left behind"
        return code, stdout, stderr.replace(str(tmp_path), "{tmp}")

    return go


def _snapshot(directory: Path) -> dict[str, object]:
    """Every entry under ``directory``: its kind and, for regular files, its bytes."""
    entries: dict[str, object] = {}
    for path in directory.rglob("*"):
        if path.is_symlink():
            entries[str(path)] = ("link", os.readlink(path))
        elif path.is_fifo():
            entries[str(path)] = "fifo"
        elif path.is_file():
            entries[str(path)] = path.read_bytes()
        else:
            entries[str(path)] = "dir"
    return entries


@pytest.mark.parametrize("command", list(STACK_COMMANDS))
@pytest.mark.parametrize("case", list(STACK_FILES))
def test_hostile_stack_file_is_refused_with_a_message(run, case: str, command: str):
    content, says = STACK_FILES[case]
    code, out, err = run(STACK_COMMANDS[command], {}, stack=content)
    assert code == 2, err
    assert says in err, err


@pytest.mark.parametrize("command", list(OUTPUT_COMMANDS))
@pytest.mark.parametrize("case", list(OUTPUTS))
def test_hostile_output_path_is_refused_before_the_work(run, case: str, command: str, monkeypatch: pytest.MonkeyPatch):
    target, files, says = OUTPUTS[case]
    _no_long_work(monkeypatch)
    code, out, err = run(OUTPUT_COMMANDS[command], files, out=target)
    assert code == 2, err
    assert says in err, err


@pytest.mark.parametrize("command", [c for c in OUTPUT_COMMANDS if c != "schema"])
@pytest.mark.parametrize("case", list(OVER_INPUTS))
def test_output_over_an_input_is_refused(run, case: str, command: str, monkeypatch: pytest.MonkeyPatch):
    target, files, says = OVER_INPUTS[case]
    _no_long_work(monkeypatch)
    code, out, err = run(OUTPUT_COMMANDS[command], files, out=target)
    assert code == 2, err
    assert says in err and "refusing to overwrite it" in err, err


@pytest.mark.parametrize("case", list(ROWS))
def test_hostile_row(run, case: str):
    row = ROWS[case]
    code, out, err = run(row.argv, row.files, debug=row.debug)
    assert code == row.code, err
    assert row.says in out + err, out + err


def test_unreadable_stack_file_names_the_file_and_the_reason(run, monkeypatch: pytest.MonkeyPatch):
    # Tests run as root here, which chmod cannot lock out: refuse the open itself.
    def denied(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr("mlstack.files.open", denied, raising=False)
    code, _, err = run(("plan", "{stack}"), {})
    assert code == 2
    assert f"cannot read the stack file '{{tmp}}/{STACK_NAME}': permission denied" in err


def test_an_unforeseen_error_is_one_line_without_traceback(cli, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("MLSTACK_DEBUG", raising=False)

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr("mlstack.schema.stack_config_schema", broken)
    code, out, err = cli("schema")
    assert code == 1 and out == ""
    assert err == (
        "mlstack: internal error: KeyError: 'boom'; this is a bug in mlstack, not in your input: "
        "rerun with MLSTACK_DEBUG=1 for the traceback and report it\n"
    )


def _no_long_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the long work fail loudly: a refused output must stop the command before it."""

    def long_work(*args, **kwargs):
        raise AssertionError("the command did its work before checking where its output goes")

    monkeypatch.setattr("mlstack.engine.plan_stack", long_work)
    monkeypatch.setattr("mlstack.policy.check.check_stack", long_work)
    monkeypatch.setattr("mlstack.ops.status.collect_status", long_work)
    monkeypatch.setattr("mlstack.ops.aws.Aws.check_account", long_work)
