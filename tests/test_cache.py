"""The on-disk cache (mlstack.cache): pipeline definitions and botocore-derived facts.

A hit is never stale (every input, the SDK's installed files and the building code are in the
key), the SDK is imported only on a miss, concurrent writers never leave a partial entry, and a
directory another user could write is not trusted. The suite runs with the cache off
(conftest); these tests turn it on with a directory of their own.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import ROOT
from mlstack import botodata, cache
from mlstack.components.training import definition as pd
from mlstack.components.training import sdk

INPUTS = pd.DefinitionInputs(
    pipeline_name="churn-churn-xgb-training",
    model="churn-xgb",
    region="eu-west-1",
    role_arn="arn:aws:iam::210987654321:role/churn-xgb-training-role",
    bucket="churn-xgb-training-artifacts",
    key_arn="arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    group_name="churn-churn-xgb",
    approval_status="PendingManualApproval",
    git_commit="f9bf13dd8771f75e98484dc199a1ec9772a114fa",
    input_uri="s3://example-churn-data/features/v3/",
    dataset_version="2026-11-01",
    training={"train": {"instance_type": "ml.m5.xlarge"}},
    gates=[{"metric": "auc", "op": ">=", "threshold": "0.8"}],
    baseline_function_arn="arn:aws:lambda:eu-west-1:210987654321:function:baseline",
)


@pytest.fixture
def on(tmp_path, monkeypatch) -> Path:
    """The cache on, in a directory of this test's."""
    directory = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_SWITCH_VARIABLE, "on")
    monkeypatch.setenv(cache.CACHE_DIR_VARIABLE, str(directory))
    monkeypatch.setattr(cache, "_warned", set())
    return directory


@pytest.fixture
def builds(on, monkeypatch) -> list:
    """A stand-in for the SDK build that records each call; the per-process caches emptied."""
    calls: list = []

    def fake(inputs):
        calls.append(inputs)
        return json.dumps({"built-from": inputs.key()})

    monkeypatch.setattr(pd, "_build", fake)
    for cached in (pd._build_cached, pd._template_text):
        cached.cache_clear()
    yield calls
    for cached in (pd._build_cached, pd._template_text):
        cached.cache_clear()


def _fresh(inputs):
    pd._build_cached.cache_clear()
    pd._template_text.cache_clear()
    return pd._build_direct(inputs)


def _changed(field: dataclasses.Field, value):
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, dict):
        return {**value, "extra": 1}
    if isinstance(value, list):
        return [*value, {"metric": "f1", "op": ">=", "threshold": "0.5"}]
    if value is None:
        return "arn:aws:lambda:eu-west-1:210987654321:function:other"
    raise AssertionError(f"no change for {field.name}")


def test_a_cached_definition_is_read_back_without_building(builds):
    first = _fresh(INPUTS)
    second = _fresh(INPUTS)
    assert first == second and len(builds) == 1


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(pd.DefinitionInputs)])
def test_any_changed_input_is_a_miss_never_a_stale_hit(builds, field):
    _fresh(INPUTS)
    changed = dataclasses.replace(INPUTS, **{field: _changed(field, getattr(INPUTS, field))})
    text = _fresh(changed)
    assert len(builds) == 2 and builds[-1] == changed
    assert json.loads(text) == {"built-from": changed.key()}
    assert _fresh(INPUTS) == json.dumps({"built-from": INPUTS.key()}) and len(builds) == 2


def test_another_sdk_or_building_code_is_a_miss(builds, monkeypatch):
    _fresh(INPUTS)
    real = json.loads(sdk.builder_fingerprint())
    for part in ("sagemaker", "sagemaker-core", "mlstack-code"):
        other = {**real, part: "another install"}
        monkeypatch.setattr(pd, "builder_fingerprint", lambda other=other: json.dumps(other, sort_keys=True))
        _fresh(INPUTS)
    assert len(builds) == 4


def test_the_fingerprint_names_the_sdk_parts_and_the_code_that_builds():
    parts = json.loads(sdk.builder_fingerprint())
    for name in ("sagemaker", "sagemaker-core", "sagemaker-mlops", "sagemaker-train", "sagemaker-serve", "botocore", "pydantic"):
        version, record = parts[name]
        assert version and len(record) == 64, name
    assert len(parts["mlstack-code"]) == 64


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: "{not json",
        lambda d: json.dumps({**d, "value": d["value"] + " "}),  # value no longer matches its digest
        lambda d: json.dumps({**d, "key": d["key"] + " "}),  # an entry of another key
        lambda d: json.dumps({**d, "format": 99}),
        lambda d: json.dumps(d)[: len(json.dumps(d)) // 2],  # a partial write
    ],
    ids=["garbage", "value-tampered", "other-key", "other-format", "truncated"],
)
def test_a_damaged_entry_is_a_miss_and_is_replaced(builds, on, damage):
    _fresh(INPUTS)
    [entry] = (on / "definitions").glob("*.json")
    entry.write_text(damage(json.loads(entry.read_text())))
    _fresh(INPUTS)
    assert len(builds) == 2
    _fresh(INPUTS)
    assert len(builds) == 2  # replaced by a good entry


def test_cache_off_reads_and_writes_nothing(builds, on, monkeypatch):
    monkeypatch.setenv(cache.CACHE_SWITCH_VARIABLE, "off")
    _fresh(INPUTS)
    _fresh(INPUTS)
    assert len(builds) == 2 and not on.exists()


def test_a_directory_others_may_write_is_not_trusted(builds, on, capsys):
    _fresh(INPUTS)
    os.chmod(on / "definitions", 0o777)
    _fresh(INPUTS)
    _fresh(INPUTS)
    assert len(builds) == 3
    err = capsys.readouterr().err
    assert err.count("not using the cache at") == 1 and "group or others may write it" in err and "chmod 700" in err


def test_an_entry_others_may_write_is_not_trusted(builds, on):
    _fresh(INPUTS)
    [entry] = (on / "definitions").glob("*.json")
    os.chmod(entry, 0o666)
    _fresh(INPUTS)
    assert len(builds) == 2


def test_the_cache_directory_is_created_private(builds, on):
    _fresh(INPUTS)
    assert (on / "definitions").stat().st_mode & 0o777 == 0o700
    assert all(e.stat().st_mode & 0o077 == 0 for e in (on / "definitions").iterdir())


def test_an_unwritable_cache_only_means_building(builds, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(cache.CACHE_DIR_VARIABLE, str(blocker / "cache"))
    assert json.loads(_fresh(INPUTS)) == {"built-from": INPUTS.key()}


def test_concurrent_writers_and_readers_see_a_whole_entry_or_none(on):
    value = "x" * 300_000
    seen: list = []

    def work(i: int) -> None:
        for _ in range(30):
            cache.put("race", "one key", value)
            seen.append(cache.get("race", "one key"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen and all(v == value for v in seen)
    assert [p.name for p in (on / "race").iterdir()] == [p.name for p in (on / "race").glob("[0-9a-f]*.json")]


_WARM_READ = """
import json, sys
from mlstack.components.training import definition as pd
text = pd.build_definition(pd.DefinitionInputs(**json.loads(sys.argv[1])))
print(json.dumps({"text": text, "sdk": sorted(m for m in sys.modules if m == "sagemaker" or m.startswith("sagemaker."))}))
"""


def test_a_warm_cache_never_imports_the_sdk(builds, on):
    expected = pd.build_definition(INPUTS)  # fills the cache (through the template, as a plan does)
    env = {**os.environ, cache.CACHE_SWITCH_VARIABLE: "on", cache.CACHE_DIR_VARIABLE: str(on)}
    done = subprocess.run(
        [sys.executable, "-c", _WARM_READ, json.dumps(dataclasses.asdict(INPUTS))], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result == {"text": expected, "sdk": []}


# --- botocore-derived facts ---------------------------------------------------------------------


def test_botocore_facts_are_cached_and_keyed_by_what_botocore_reads(on, monkeypatch, tmp_path):
    calls: list = []

    def compute():
        calls.append(1)
        return ["ml.m5.xlarge"]

    botodata.botocore_fingerprint.cache_clear()
    assert botodata.derived("probe", compute) == ["ml.m5.xlarge"]
    assert botodata.derived("probe", compute) == ["ml.m5.xlarge"] and len(calls) == 1
    # A model dropped where botocore looks first (AWS_DATA_PATH, ~/.aws/models) is another key.
    models = tmp_path / "models" / "sagemaker"
    models.mkdir(parents=True)
    (models / "service-2.json").write_text("{}")
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "models"))
    botodata.botocore_fingerprint.cache_clear()
    botodata.derived("probe", compute)
    assert len(calls) == 2
    (models / "service-2.json").write_text('{"changed": true}')
    botodata.botocore_fingerprint.cache_clear()
    botodata.derived("probe", compute)
    assert len(calls) == 3
    botodata.botocore_fingerprint.cache_clear()


def test_cached_instance_types_and_regions_equal_botocores(on):
    from mlstack import catalog
    from mlstack.config import validate

    catalog._enum.cache_clear()
    validate.sagemaker_regions.cache_clear()
    first = (catalog.instance_types("endpoint"), validate.sagemaker_regions())
    catalog._enum.cache_clear()
    validate.sagemaker_regions.cache_clear()
    assert (catalog.instance_types("endpoint"), validate.sagemaker_regions()) == first  # read back
    assert first[0] == frozenset(catalog._load_enum("ProductionVariantInstanceType"))
    assert first[1] == frozenset(validate._load_sagemaker_regions())
    assert len(list((on / "botocore").glob("*.json"))) == 2


# --- pulumi-aws-derived facts -------------------------------------------------------------------


def test_taggable_types_are_cached_and_keyed_by_the_installed_pulumi_aws(on, monkeypatch):
    from mlstack import lineage

    reads: list = []
    real = lineage._read_taggable

    def spy(token):
        reads.append(token)
        return real(token)

    monkeypatch.setattr(lineage, "_read_taggable", spy)
    lineage._is_taggable.cache_clear()
    assert lineage.is_taggable("aws:s3/bucket:Bucket") is True
    assert lineage.is_taggable("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock") is False
    lineage._is_taggable.cache_clear()
    assert lineage.is_taggable("aws:s3/bucket:Bucket") is True  # read back, not from pulumi-aws
    assert reads == ["aws:s3/bucket:Bucket", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"]
    monkeypatch.setattr(lineage, "_pulumi_aws_fingerprint", lambda: "another pulumi-aws")
    lineage._is_taggable.cache_clear()
    assert lineage.is_taggable("aws:s3/bucket:Bucket") is True and len(reads) == 3
    lineage._is_taggable.cache_clear()


def test_the_judging_process_of_a_warm_check_imports_no_pulumi_aws(on, tmp_path):
    env = {**os.environ, cache.CACHE_SWITCH_VARIABLE: "on", cache.CACHE_DIR_VARIABLE: str(on)}
    code = (
        "import sys, io, contextlib\n"
        "from mlstack.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    code = main(['check', 'vision-prod'])\n"
        "print(code, sorted({m.split('.')[0] for m in sys.modules if m.startswith('pulumi_aws')}))\n"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert first.stdout.split()[0] == "0", first.stderr[-2000:]
    assert second.stdout.strip() == "0 []", second.stderr[-2000:]


def test_every_mlstack_module_the_definition_builder_imports_is_in_its_fingerprint():
    """A module definition.py imports (at the top or inside a function) shapes the definitions
    it builds: if it were left out of the fingerprint, changing it would leave stale cache hits."""
    import ast
    from pathlib import Path

    from mlstack.components.training import sdk

    here = Path(sdk.__file__).parent
    tree = ast.parse((here / "definition.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            base = here
            for _ in range(node.level - 1):
                base = base.parent
            target = base.joinpath(*(node.module or "").split(".")) if node.module else base
            if node.module == "" or node.module is None:
                continue  # `from ... import cache`: the cache itself, not the build
            candidates = [target.with_suffix(".py"), target / "__init__.py"]
            imported |= {c.resolve() for c in candidates if c.is_file()}
    fingerprinted = {(here / source).resolve() for source in sdk._BUILD_SOURCES}
    assert imported and imported <= fingerprinted, sorted(str(p) for p in imported - fingerprinted)
