#!/usr/bin/env python
"""Regenerate mlstack/catalog/accelerators.json, the accelerator facts of SageMaker types.

What it writes
    ``mlstack/catalog/accelerators.json``: for every accelerated SageMaker ``ml.*`` instance
    type, the kind of accelerator ("GPU" or "Neuron"), the device count, the memory of each
    device in MiB, the manufacturer, the device name, and which source gave them ("moto" or
    "overlay"). A ``header`` object records the sources, the moto and botocore versions used
    and a few counts. There is no timestamp: the same inputs give the same bytes (sorted keys,
    two-space indent, trailing newline), so the file diffs cleanly and a test can regenerate
    it in memory and compare. Non-accelerated types are listed implicitly: an ``ml.*`` type
    absent from the file has no accelerator (CPU only).

Which instance types
    The union of the four botocore SageMaker service model enums that say which types each use
    accepts: ``ProductionVariantInstanceType`` (endpoint), ``TrainingInstanceType``,
    ``ProcessingInstanceType`` and ``TransformInstanceType``, read through
    ``mlstack.catalog.instance_types`` so the catalog and this script agree. No list is kept
    by hand.

Where the facts come from
    1. moto's dump of EC2 ``DescribeInstanceTypes``, ``moto/ec2/resources/instance_types.json.gz``
       inside the installed moto package (located without importing moto). Each ``ml.*`` type
       maps to the EC2 type named by dropping the ``ml.`` prefix (``ml.p4de.24xlarge`` ->
       ``p4de.24xlarge``, ``ml.p6-b200.48xlarge`` -> ``p6-b200.48xlarge``, ``ml.c7i-flex.large``
       -> ``c7i-flex.large``). From the EC2 record:

       * ``GpuInfo.Gpus[0]`` gives a GPU accelerator: Count, MemoryInfo.SizeInMiB (per GPU),
         Manufacturer, Name. Habana Gaudi (dl1) is reported there too, so it counts as "GPU".
       * ``NeuronInfo.NeuronDevices[0]`` gives a Neuron accelerator (Inferentia, Trainium):
         Count, MemoryInfo.SizeInMiB (per device), Name. NeuronInfo carries no manufacturer;
         it is taken from the matching ``InferenceAcceleratorInfo`` entry when there is one
         (inf1, inf2 say "AWS") and is "AWS" otherwise (Trainium is AWS's own chip).
       * ``FpgaInfo`` and ``MediaAcceleratorInfo`` are not GPU or Neuron accelerators and are
         ignored; no SageMaker type has them today.

       A record with both GpuInfo and NeuronInfo, with more than one kind of device in a list,
       or with InferenceAcceleratorInfo but no NeuronInfo is refused rather than guessed.

    2. ``scripts/accelerators_overlay.json``: a small hand-written file, keyed by EC2 type, for
       types that moto's dump lacks (today p2, p3, dl1 and p6e-gb200) or gets wrong (today
       trn2.48xlarge, whose per-device memory moto gives as 512 GiB instead of 96 GiB). Every
       entry cites its source, the row of the AWS page "Specifications for Amazon EC2
       accelerated computing instances" it transcribes (``source.url`` and ``source.says``).
       An overlay entry wins over moto only when it says why in ``corrects_moto``.

Failing loudly
    The script writes nothing and exits with status 2 when:

    * an ``ml.*`` type of an accelerated family has facts from neither source. Accelerated
      families are known by their name prefix: ``p*``, ``g*`` (and ``gr*``), ``inf*``,
      ``trn*`` and ``dl*`` followed by a generation digit. Add the type to the overlay, with
      its source, or upgrade moto;
    * an overlay entry is malformed or cites no source, names a type that no SageMaker enum
      has (stale), duplicates moto without ``corrects_moto``, or "corrects" moto where moto
      now says the same thing.

Types that are not EC2 types
    Types of a non-accelerated family that moto's dump does not know (should SageMaker list,
    say, an ``ml.*.flex`` size or an odd name EC2 never had) are CPU by the rule above; they
    are listed in ``header.cpu_types_not_in_ec2_dump`` so a reviewer sees them. An enum value
    not shaped ``ml.<family>.<size>`` is skipped and listed in ``header.skipped_types``.

Usage
    python scripts/update_accelerators.py            # regenerate the data file
    python scripts/update_accelerators.py --check    # exit 1 if the data file is out of date

Run it after upgrading botocore or moto, or after editing the overlay, and commit the result.
tests/test_catalog.py regenerates the file in memory and fails if the committed one differs.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata
import importlib.util
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
DATA_FILE = REPO / "mlstack" / "catalog" / "accelerators.json"
OVERLAY_FILE = SCRIPTS / "accelerators_overlay.json"
MOTO_DUMP = Path("ec2", "resources", "instance_types.json.gz")

if importlib.util.find_spec("mlstack") is None:  # run from a checkout without installing it
    sys.path.insert(0, str(REPO))

from mlstack.catalog import Use, _is_accelerated_family, family, instance_types  # noqa: E402

FACT_FIELDS = ("count", "kind", "manufacturer", "memory_mib", "name")
KINDS = ("GPU", "Neuron")


class GenerationError(RuntimeError):
    """The data file cannot be generated from the sources as they are."""


def moto_dump_path() -> Path:
    """Return the path of moto's EC2 instance type dump in the installed moto package."""
    spec = importlib.util.find_spec("moto")
    if spec is None or not spec.submodule_search_locations:
        raise GenerationError(
            "moto is not installed; install the test extra: pip install -e .[test]"
        )
    path = Path(next(iter(spec.submodule_search_locations)), MOTO_DUMP)
    if not path.is_file():
        raise GenerationError(f"moto {_version('moto')} has no EC2 instance type dump at {path}")
    return path


def load_moto_dump(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Return moto's EC2 ``DescribeInstanceTypes`` records keyed by EC2 instance type."""
    with gzip.open(path or moto_dump_path(), "rt", encoding="utf-8") as stream:
        records: dict[str, dict[str, Any]] = json.load(stream)
    return records


def _check_facts(where: str, facts: Mapping[str, Any]) -> dict[str, Any]:
    picked = {field: facts.get(field) for field in FACT_FIELDS}
    if picked["kind"] not in KINDS:
        raise GenerationError(f"{where}: kind must be one of {KINDS}, not {picked['kind']!r}")
    for field in ("count", "memory_mib"):
        value = picked[field]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise GenerationError(f"{where}: {field} must be a positive integer, not {value!r}")
    for field in ("manufacturer", "name"):
        text = picked[field]
        if not isinstance(text, str) or not text.strip():
            raise GenerationError(f"{where}: {field} must be a non-empty string")
    return picked


def facts_from_ec2(ec2_type: str, record: Mapping[str, Any]) -> dict[str, Any] | None:
    """Return the accelerator facts of one moto/EC2 record, or None if it has no GPU/Neuron."""
    gpus = record.get("GpuInfo", {}).get("Gpus", [])
    neurons = record.get("NeuronInfo", {}).get("NeuronDevices", [])
    inference = record.get("InferenceAcceleratorInfo", {}).get("Accelerators", [])
    where = f"moto {ec2_type}"
    if gpus and neurons:
        raise GenerationError(f"{where}: has both GpuInfo and NeuronInfo; add an overlay entry")
    if len(gpus) > 1 or len(neurons) > 1:
        raise GenerationError(f"{where}: mixes device models; the catalog holds one per type")
    if gpus:
        gpu = gpus[0]
        return _check_facts(
            where,
            {
                "kind": "GPU",
                "count": gpu.get("Count"),
                "memory_mib": gpu.get("MemoryInfo", {}).get("SizeInMiB"),
                "manufacturer": gpu.get("Manufacturer"),
                "name": gpu.get("Name"),
            },
        )
    if neurons:
        device = neurons[0]
        makers = [a.get("Manufacturer") for a in inference if a.get("Name") == device.get("Name")]
        return _check_facts(
            where,
            {
                "kind": "Neuron",
                "count": device.get("Count"),
                "memory_mib": device.get("MemoryInfo", {}).get("SizeInMiB"),
                "manufacturer": makers[0] if makers and makers[0] else "AWS",
                "name": device.get("Name"),
            },
        )
    if inference:
        raise GenerationError(
            f"{where}: has InferenceAcceleratorInfo but no NeuronInfo; add an overlay entry"
        )
    return None


def load_overlay(path: Path = OVERLAY_FILE) -> dict[str, dict[str, Any]]:
    """Return the overlay entries keyed by EC2 type, each checked for facts and a source."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise GenerationError(f"cannot read the overlay {path}: {error}") from error
    entries = document.get("instance_types")
    if not isinstance(entries, dict):
        raise GenerationError(f"{path}: expected an 'instance_types' object")
    overlay: dict[str, dict[str, Any]] = {}
    for ec2_type, entry in entries.items():
        where = f"overlay {ec2_type}"
        if ec2_type.startswith("ml."):
            raise GenerationError(f"{where}: key by EC2 type, without the 'ml.' prefix")
        source = entry.get("source")
        if not (
            isinstance(source, dict)
            and str(source.get("url", "")).startswith("https://")
            and str(source.get("says", "")).strip()
        ):
            raise GenerationError(f"{where}: must cite its source as source.url and source.says")
        checked = _check_facts(where, entry)
        corrects = entry.get("corrects_moto")
        if corrects is not None and not str(corrects).strip():
            raise GenerationError(f"{where}: corrects_moto must say what moto gets wrong")
        checked["corrects_moto"] = corrects
        overlay[ec2_type] = checked
    return overlay


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _is_ml_type(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 3 and parts[0] == "ml" and all(parts)


def generate(
    *,
    sagemaker_types: Mapping[str, frozenset[str]] | None = None,
    moto_dump: Mapping[str, Mapping[str, Any]] | None = None,
    overlay: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Build the data file's document in memory; raise GenerationError if it would be wrong.

    The keyword arguments replace the real sources (botocore enums per use, moto's dump, the
    overlay) and exist for tests; by default each is read from where it lives.
    """
    if sagemaker_types is None:
        sagemaker_types = {use.value: instance_types(use) for use in Use}
    if moto_dump is None:
        moto_dump = load_moto_dump()
    if overlay is None:
        overlay = load_overlay()

    union = sorted(set().union(*sagemaker_types.values()))
    entries: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    problems: list[str] = []
    cpu_not_in_dump: list[str] = []
    skipped: list[str] = []
    used_overlay: set[str] = set()

    for ml_type in union:
        if not _is_ml_type(ml_type):
            skipped.append(ml_type)
            continue
        ec2_type = ml_type.removeprefix("ml.")
        record = moto_dump.get(ec2_type)
        from_moto = facts_from_ec2(ec2_type, record) if record is not None else None
        patch = overlay.get(ec2_type)
        if patch is not None:
            used_overlay.add(ec2_type)
            facts = {field: patch[field] for field in FACT_FIELDS}
            if from_moto is not None and not patch.get("corrects_moto"):
                problems.append(
                    f"overlay {ec2_type}: moto now describes it ({from_moto}); delete the "
                    "overlay entry, or say in corrects_moto what moto gets wrong"
                )
            elif from_moto is not None and from_moto == facts:
                problems.append(
                    f"overlay {ec2_type}: moto now says the same; delete the overlay entry"
                )
            entries[ml_type] = {**facts, "source": "overlay"}
        elif from_moto is not None:
            entries[ml_type] = {**from_moto, "source": "moto"}
        elif _is_accelerated_family(family(ml_type)):
            missing.append(ml_type)
        elif record is None:
            cpu_not_in_dump.append(ml_type)

    for ec2_type in sorted(set(overlay) - used_overlay):
        problems.append(
            f"overlay {ec2_type}: no SageMaker enum lists ml.{ec2_type}; delete the stale entry"
        )
    if missing:
        problems.append(
            "no accelerator facts from moto's dump or the overlay for these types of "
            f"accelerated families: {', '.join(missing)}; add each to {OVERLAY_FILE.name} "
            "with its source, or upgrade moto"
        )
    if problems:
        raise GenerationError("\n".join(problems))

    from_overlay = sum(1 for facts in entries.values() if facts["source"] == "overlay")
    header = {
        "about": (
            "Accelerator facts (GPU or Neuron) of every accelerated SageMaker ml.* instance "
            "type; memory_mib is per device. An ml.* type absent from instance_types has no "
            "accelerator (CPU only). Generated by scripts/update_accelerators.py; do not edit."
        ),
        "generator": "scripts/update_accelerators.py",
        "sources": {
            "instance_types": (
                "union of botocore's sagemaker service model enums ProductionVariantInstanceType, "
                "TrainingInstanceType, ProcessingInstanceType, TransformInstanceType"
            ),
            "moto": (
                "moto/ec2/resources/instance_types.json.gz, moto's dump of EC2 "
                "DescribeInstanceTypes (GpuInfo, NeuronInfo, InferenceAcceleratorInfo)"
            ),
            "overlay": (
                "scripts/accelerators_overlay.json, transcribed from the AWS page "
                "'Specifications for Amazon EC2 accelerated computing instances'"
            ),
        },
        "botocore_version": _version("botocore"),
        "moto_version": _version("moto"),
        "counts": {
            "sagemaker_types": len(union),
            "accelerated": len(entries),
            "from_moto": len(entries) - from_overlay,
            "from_overlay": from_overlay,
        },
        "cpu_types_not_in_ec2_dump": cpu_not_in_dump,
        "skipped_types": skipped,
    }
    return {"header": header, "instance_types": entries}


def render(document: Mapping[str, Any]) -> str:
    """Return the data file's exact text for ``document``."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the data file is stale")
    parser.add_argument("--output", type=Path, default=DATA_FILE, help="file to write or check")
    args = parser.parse_args(argv)
    try:
        text = render(generate())
    except GenerationError as error:
        print(f"update_accelerators: {error}", file=sys.stderr)
        return 2
    counts = json.loads(text)["header"]["counts"]
    summary = (
        f"{counts['accelerated']} accelerated of {counts['sagemaker_types']} SageMaker types "
        f"({counts['from_moto']} from moto, {counts['from_overlay']} from the overlay)"
    )
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current != text:
            print(
                f"{args.output} is out of date; run scripts/update_accelerators.py", file=sys.stderr
            )
            return 1
        print(f"{args.output} is up to date: {summary}")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
