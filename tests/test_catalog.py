"""The SageMaker instance catalog: valid types per use, accelerator facts, typo suggestions.

Expected values are read independently from their sources (botocore's SageMaker model, moto's
EC2 dump, the overlay file) rather than copied into the tests, so the tests say what the
catalog must agree with, not what it happened to say on the day they were written.
"""

from __future__ import annotations

import copy
import gzip
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import botocore.session
import pytest

from mlstack import catalog
from mlstack.catalog import (
    Accelerator,
    InstanceTypeError,
    Use,
    accelerator,
    accelerator_count,
    check_instance_type,
    family,
    gpu_count,
    instance_types,
    is_accelerated,
    suggest,
    validate_instance_type,
)

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "update_accelerators.py"
DATA_FILE = REPO / "mlstack" / "catalog" / "accelerators.json"
OVERLAY_FILE = REPO / "scripts" / "accelerators_overlay.json"
SPEC_PAGE_PREFIX = "https://docs.aws.amazon.com/ec2/latest/instancetypes/"

ENUM_SHAPES = {
    "endpoint": "ProductionVariantInstanceType",
    "training": "TrainingInstanceType",
    "processing": "ProcessingInstanceType",
    "transform": "TransformInstanceType",
}
# Written out here on purpose, apart from the catalog's own pattern: p*, g*, inf*, trn*, dl*.
ACCELERATED_FAMILY = re.compile(r"(p|g|gr|inf|trn|dl)\d")


@pytest.fixture(scope="module")
def botocore_enums() -> dict[str, frozenset[str]]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return {use: frozenset(model.shape_for(shape).enum) for use, shape in ENUM_SHAPES.items()}


@pytest.fixture(scope="module")
def all_types(botocore_enums: dict[str, frozenset[str]]) -> frozenset[str]:
    return frozenset().union(*botocore_enums.values())


@pytest.fixture(scope="module")
def moto_ec2() -> dict[str, dict[str, Any]]:
    spec = importlib.util.find_spec("moto")
    assert spec is not None and spec.submodule_search_locations
    dump = Path(next(iter(spec.submodule_search_locations)), "ec2/resources/instance_types.json.gz")
    with gzip.open(dump, "rt", encoding="utf-8") as stream:
        return json.load(stream)


@pytest.fixture(scope="module")
def overlay() -> dict[str, dict[str, Any]]:
    return json.loads(OVERLAY_FILE.read_text(encoding="utf-8"))["instance_types"]


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("update_accelerators", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- valid instance types per use -------------------------------------------------------------


def test_importing_the_catalog_loads_neither_botocore_nor_the_data_file() -> None:
    probe = (
        "import sys, mlstack.catalog as c; "
        "print('botocore' in sys.modules, c._enum.cache_info().currsize, "
        "c._accelerators.cache_info().currsize)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.split() == ["False", "0", "0"]


@pytest.mark.parametrize("use", list(ENUM_SHAPES))
def test_each_use_accepts_exactly_the_botocore_enum(
    use: str, botocore_enums: dict[str, frozenset[str]]
) -> None:
    assert instance_types(use) == botocore_enums[use]
    assert instance_types(Use(use)) == botocore_enums[use]
    assert isinstance(instance_types(use), frozenset)


def test_uses_are_string_enums_with_the_api_values() -> None:
    assert [u.value for u in Use] == ["endpoint", "training", "processing", "transform"]
    assert Use.ENDPOINT == "endpoint"
    assert isinstance(Use.TRAINING, str)
    assert str(Use.ENDPOINT) == "endpoint"


def test_an_unknown_use_is_rejected_naming_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="endpoint, training, processing, transform"):
        instance_types("inference")


def test_g5_xlarge_is_a_valid_endpoint_type() -> None:
    assert "ml.g5.xlarge" in instance_types(Use.ENDPOINT)
    assert check_instance_type("ml.g5.xlarge", Use.ENDPOINT) is None
    assert validate_instance_type("ml.g5.xlarge", "endpoint") == "ml.g5.xlarge"


def test_a_training_only_type_is_rejected_for_an_endpoint_naming_where_it_is_valid(
    botocore_enums: dict[str, frozenset[str]],
) -> None:
    training_only = "ml.p3dn.24xlarge"
    assert training_only in botocore_enums["training"]
    assert all(
        training_only not in botocore_enums[u] for u in ("endpoint", "processing", "transform")
    )
    assert not any(family(t) == "p3dn" for t in botocore_enums["endpoint"])

    message = check_instance_type(training_only, Use.ENDPOINT)

    head = (
        "ml.p3dn.24xlarge is a SageMaker training instance type but not an endpoint instance "
        "type; choose an endpoint instance type such as "
    )
    assert message is not None and message.startswith(head)
    offered = re.split(r", | or ", message.removeprefix(head))
    assert 1 <= len(offered) <= 3
    assert all(t in botocore_enums["endpoint"] and gpu_count(t) > 0 for t in offered)


def test_a_type_valid_elsewhere_lists_the_same_family_types_valid_for_this_use(
    botocore_enums: dict[str, frozenset[str]],
) -> None:
    assert "ml.p5.48xlarge" not in botocore_enums["processing"]
    family_types = sorted(
        (t for t in botocore_enums["processing"] if t.startswith("ml.p5.")),
        key=lambda t: int(t.split(".")[2].removesuffix("xlarge") or 1),
    )
    assert family_types, "botocore no longer has a p5 processing type; pick another example"
    elsewhere = [
        u for u in ("endpoint", "training", "transform") if "ml.p5.48xlarge" in botocore_enums[u]
    ]
    where = (
        elsewhere[0] if len(elsewhere) == 1 else ", ".join(elsewhere[:-1]) + " and " + elsewhere[-1]
    )

    assert check_instance_type("ml.p5.48xlarge", "processing") == (
        f"ml.p5.48xlarge is a SageMaker {where} instance type but not a processing instance "
        f"type; processing types of that family: {', '.join(family_types)}"
    )
    suggested = suggest("ml.p5.48xlarge", "processing")
    assert set(suggested) <= set(family_types)
    assert len(suggested) == min(3, len(family_types))


# --- typo suggestions ------------------------------------------------------------------------


def test_a_typo_gets_the_one_type_it_almost_spells() -> None:
    assert check_instance_type("ml.g5.xlarg", Use.ENDPOINT) == (
        "ml.g5.xlarg is not a SageMaker endpoint instance type; did you mean ml.g5.xlarge?"
    )
    assert suggest("ml.g5.xlarg", Use.ENDPOINT) == ["ml.g5.xlarge"]


def test_an_ambiguous_typo_lists_several_close_types_joined_with_or() -> None:
    message = check_instance_type("ml.g5.8large", "endpoint")

    assert message is not None
    match = re.fullmatch(
        r"ml\.g5\.8large is not a SageMaker endpoint instance type; "
        r"did you mean (ml\.\S+), (ml\.\S+) or (ml\.\S+)\?",
        message,
    )
    assert match, message
    assert match.group(1) == "ml.g5.8xlarge"
    assert list(match.groups()) == suggest("ml.g5.8large", "endpoint")
    assert all(t in instance_types("endpoint") for t in match.groups())


def test_case_and_a_missing_ml_prefix_are_pointed_out_not_accepted() -> None:
    assert check_instance_type("G5.XLarge", "training") == (
        "G5.XLarge is not a SageMaker training instance type; did you mean ml.g5.xlarge?"
    )
    with pytest.raises(InstanceTypeError):
        validate_instance_type("g5.xlarge", "training")


def test_nothing_close_suggests_listing_the_types_instead_of_guessing() -> None:
    assert suggest("banana", "endpoint") == []
    assert check_instance_type("banana", "endpoint") == (
        "banana is not a SageMaker endpoint instance type; "
        "list the valid ones with `mlstack catalog endpoint`"
    )


def test_validate_raises_a_value_error_with_the_message_and_suggestions() -> None:
    with pytest.raises(InstanceTypeError) as caught:
        validate_instance_type("ml.g5.xlarg", "endpoint")

    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == check_instance_type("ml.g5.xlarg", "endpoint")
    assert caught.value.suggestions == ("ml.g5.xlarge",)
    assert caught.value.use is Use.ENDPOINT
    assert caught.value.instance_type == "ml.g5.xlarg"


def test_suggest_returns_at_most_n_valid_types() -> None:
    assert len(suggest("ml.g5.xl", "endpoint", n=2)) == 2
    assert suggest("ml.g5.xl", "endpoint", n=0) == []
    assert set(suggest("ml.g5.xl", "endpoint")) <= instance_types("endpoint")


# --- accelerator facts -----------------------------------------------------------------------


def _moto_gpu(moto_ec2: dict[str, dict[str, Any]], ec2_type: str) -> Accelerator:
    (gpu,) = moto_ec2[ec2_type]["GpuInfo"]["Gpus"]
    return Accelerator(
        "GPU", gpu["Count"], gpu["MemoryInfo"]["SizeInMiB"], gpu["Manufacturer"], gpu["Name"]
    )


def test_g5_xlarge_has_one_nvidia_a10g_as_moto_describes_it(
    moto_ec2: dict[str, dict[str, Any]],
) -> None:
    facts = accelerator("ml.g5.xlarge")

    assert facts == _moto_gpu(moto_ec2, "g5.xlarge")
    assert (facts.kind, facts.count, facts.manufacturer, facts.name) == ("GPU", 1, "NVIDIA", "A10G")
    assert 22 * 1024 <= facts.memory_mib <= 24 * 1024  # "24 GB" A10G, as EC2 counts it
    assert facts.total_memory_mib == facts.memory_mib
    assert gpu_count("ml.g5.xlarge") == accelerator_count("ml.g5.xlarge") == 1
    assert is_accelerated("ml.g5.xlarge")


def test_p4d_24xlarge_has_eight_gpus(moto_ec2: dict[str, dict[str, Any]]) -> None:
    facts = accelerator("ml.p4d.24xlarge")

    assert facts == _moto_gpu(moto_ec2, "p4d.24xlarge")
    assert gpu_count("ml.p4d.24xlarge") == 8
    assert (
        facts.total_memory_mib
        == 8 * facts.memory_mib
        == moto_ec2["p4d.24xlarge"]["GpuInfo"]["TotalGpuMemoryInMiB"]
    )


def test_inf2_xlarge_is_a_neuron_type_with_no_gpu(moto_ec2: dict[str, dict[str, Any]]) -> None:
    (device,) = moto_ec2["inf2.xlarge"]["NeuronInfo"]["NeuronDevices"]

    assert accelerator("ml.inf2.xlarge") == Accelerator(
        "Neuron", device["Count"], device["MemoryInfo"]["SizeInMiB"], "AWS", device["Name"]
    )
    assert gpu_count("ml.inf2.xlarge") == 0
    assert accelerator_count("ml.inf2.xlarge") == device["Count"] == 1
    assert is_accelerated("ml.inf2.xlarge")


def test_m5_large_has_no_accelerator() -> None:
    assert accelerator("ml.m5.large") is None
    assert not is_accelerated("ml.m5.large")
    assert gpu_count("ml.m5.large") == accelerator_count("ml.m5.large") == 0


def test_types_moto_lacks_take_their_facts_from_the_overlay(
    overlay: dict[str, dict[str, Any]],
) -> None:
    p3 = overlay["p3.2xlarge"]
    assert accelerator("ml.p3.2xlarge") == Accelerator(
        p3["kind"], p3["count"], p3["memory_mib"], p3["manufacturer"], p3["name"]
    )
    assert gpu_count("ml.p3.16xlarge") == overlay["p3.16xlarge"]["count"] == 8


def test_every_accelerated_family_type_in_any_use_has_facts(all_types: frozenset[str]) -> None:
    accelerated = [t for t in all_types if ACCELERATED_FAMILY.match(t.removeprefix("ml."))]

    assert len(accelerated) > 50
    assert [t for t in accelerated if accelerator(t) is None] == []


def test_every_fact_agrees_with_its_source(
    committed: dict[str, Any],
    moto_ec2: dict[str, dict[str, Any]],
    overlay: dict[str, dict[str, Any]],
) -> None:
    fields = ("kind", "count", "memory_mib", "manufacturer", "name")
    for ml_type, facts in committed["instance_types"].items():
        ec2_type = ml_type.removeprefix("ml.")
        got = accelerator(ml_type)
        assert got is not None and [getattr(got, f) for f in fields] == [facts[f] for f in fields]
        if facts["source"] == "overlay":
            assert [overlay[ec2_type][f] for f in fields] == [facts[f] for f in fields], ml_type
            continue
        record = moto_ec2[ec2_type]
        key, devices = (
            ("GpuInfo", "Gpus") if facts["kind"] == "GPU" else ("NeuronInfo", "NeuronDevices")
        )
        (device,) = record[key][devices]
        assert (device["Count"], device["MemoryInfo"]["SizeInMiB"], device["Name"]) == (
            facts["count"],
            facts["memory_mib"],
            facts["name"],
        ), ml_type


def test_an_unknown_type_of_an_accelerated_family_is_an_error_not_cpu() -> None:
    with pytest.raises(InstanceTypeError, match="scripts/update_accelerators.py"):
        accelerator("ml.g99.xlarge")
    with pytest.raises(InstanceTypeError):
        gpu_count("ml.g5.xlarg")
    assert accelerator("ml.c99.xlarge") is None  # a CPU family: absent means no accelerator


def test_family_is_the_ec2_family_of_the_type() -> None:
    assert family("ml.g5.xlarge") == "g5"
    assert family("ml.p6-b200.48xlarge") == "p6-b200"
    assert family("ml.c7i-flex.large") == "c7i-flex"
    assert family("g4dn.xlarge") == "g4dn"
    with pytest.raises(ValueError):
        family("banana")


# --- the generator script and its data file --------------------------------------------------


def test_the_committed_data_file_is_what_the_script_generates_now(
    script: ModuleType, committed: dict[str, Any]
) -> None:
    generated = script.generate()
    on_disk = copy.deepcopy(committed)
    # Library versions are recorded, not compared: a botocore or moto upgrade that changes
    # no fact leaves the data file valid. Any change of facts or types fails here.
    for document in (generated, on_disk):
        document["header"].pop("botocore_version")
        document["header"].pop("moto_version")
    assert generated == on_disk, "run: python scripts/update_accelerators.py"


def test_the_data_file_is_rendered_canonically_without_a_timestamp(script: ModuleType) -> None:
    text = DATA_FILE.read_text(encoding="utf-8")

    header = json.loads(text)["header"]

    assert script.render(json.loads(text)) == text
    assert not [key for key in header if re.search(r"time|date|when", key)]
    assert not re.search(r"\d{4}-\d{2}-\d{2}", json.dumps(header))


def test_the_data_file_header_records_sources_and_versions(committed: dict[str, Any]) -> None:
    header = committed["header"]
    counts = header["counts"]

    assert {"botocore_version", "moto_version", "sources"} <= set(header)
    assert "instance_types.json.gz" in header["sources"]["moto"]
    assert counts["accelerated"] == len(committed["instance_types"])
    assert counts["from_moto"] + counts["from_overlay"] == counts["accelerated"]


def test_every_overlay_entry_cites_the_ec2_specifications_page(
    overlay: dict[str, dict[str, Any]],
) -> None:
    assert overlay
    for ec2_type, entry in overlay.items():
        assert entry["source"]["url"].startswith(SPEC_PAGE_PREFIX), ec2_type
        assert ec2_type.split(".")[0] in entry["source"]["says"], ec2_type


def test_the_script_fails_loudly_when_an_accelerated_type_has_no_facts(script: ModuleType) -> None:
    with pytest.raises(script.GenerationError, match=r"ml\.p3\.2xlarge"):
        script.generate(overlay={})


def test_the_script_rejects_a_stale_or_redundant_overlay_entry(
    script: ModuleType, overlay: dict[str, dict[str, Any]]
) -> None:
    entries = script.load_overlay()
    stale = {**entries, "zz1.large": entries["p3.2xlarge"]}
    with pytest.raises(script.GenerationError, match="zz1.large"):
        script.generate(overlay=stale)

    redundant = {**entries, "g5.xlarge": {**entries["p3.2xlarge"], "corrects_moto": None}}
    with pytest.raises(script.GenerationError, match="g5.xlarge: moto now describes it"):
        script.generate(overlay=redundant)


def test_the_data_file_ships_inside_the_package() -> None:
    from importlib import resources

    assert resources.files(catalog).joinpath("accelerators.json").is_file()
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"**/*.json"' in pyproject
