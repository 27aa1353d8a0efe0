"""Prices for cost estimates: a small, committed price file per region, and its reader.

``mlstack prices update --region eu-west-1`` asks the AWS Price List Query API (boto3
``pricing``, ``GetProducts``; no account resources needed, only ``pricing:GetProducts``) and
writes ``prices/eu-west-1.json`` in the project: on-demand USD per hour of every SageMaker ML
instance type per use, the monthly price of a KMS key, a CloudWatch alarm and a dashboard, and
the date it was retrieved. ``mlstack cost`` and the budget policy read it offline; without it
they report hours, never invented dollars.

The Price List API answers ``PriceList``: a list of JSON *strings*, each a product with its
terms (API_pricing_GetProducts; the shape of one entry)::

    {"product": {"productFamily": "ML Instance", "sku": "...",
                 "attributes": {"regionCode": "eu-west-1", "instanceName": "ml.g5.xlarge",
                                "component": "Hosting", "usagetype": "EUW1-Host:ml.g5.xlarge"}},
     "terms": {"OnDemand": {"SKU.TERM": {"priceDimensions": {"SKU.TERM.RATE": {
                 "unit": "Hrs", "pricePerUnit": {"USD": "1.6060000000"}}}}}}}

When one instance type and use has several on-demand prices, the highest is kept (an estimate
that must not understate). Spot training is priced at the on-demand rate: spot savings vary and
an upper bound is what a budget needs.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..files import read_text

__all__ = [
    "PriceFile",
    "PriceFileError",
    "FORMAT",
    "default_path",
    "load_price_file",
    "price_file_from_json",
    "parse_price_list",
    "parse_instance_prices",
    "fetch_prices",
    "USE_OF_COMPONENT",
    "MONTHLY_ITEMS",
    "PRICING_API_REGION",
]

FORMAT = "mlstack-prices/1"
#: The Price List Query API's own regions (it is served from these only).
PRICING_API_REGION = "us-east-1"
#: SageMaker's ``component`` attribute (or the usage type's middle part) -> mlstack use.
USE_OF_COMPONENT = {
    "hosting": "endpoint",
    "host": "endpoint",
    "training": "training",
    "train": "training",
    "processing": "processing",
    "batch transform": "transform",
    "batchtransform": "transform",
    "transform": "transform",
    "tsform": "transform",
}
_MAX_PRICE_FILE = 4 << 20
_INSTANCE = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9-]+$")


class PriceFileError(ValueError):
    """A price file or a Price List answer mlstack cannot use."""


@dataclass
class PriceFile:
    """On-demand USD prices of one region, as ``mlstack prices update`` writes them."""

    region: str
    retrieved: str
    """The UTC date the prices were read from the Price List API (YYYY-MM-DD)."""
    instances: dict[str, dict[str, float]] = field(default_factory=dict)
    """use (endpoint, training, processing, transform) -> instance type -> USD per instance-hour."""
    monthly: dict[str, float] = field(default_factory=dict)
    """kmsKey, alarm, dashboard -> USD per month each."""
    path: Optional[str] = None

    def hourly(self, instance_type: str, use: str) -> Optional[float]:
        """USD per hour of ``instance_type`` in ``use`` (spot training at the on-demand rate), or None."""
        table = self.instances.get("training" if use == "spot training" else use) or {}
        return table.get(instance_type)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "region": self.region,
            "retrieved": self.retrieved,
            "currency": "USD",
            "source": "AWS Price List Query API (pricing:GetProducts), on-demand terms",
            "instances": {use: dict(sorted(t.items())) for use, t in sorted(self.instances.items())},
            "monthly": dict(sorted(self.monthly.items())),
        }


def default_path(root: Path, region: str) -> Path:
    """Where a project keeps the prices of ``region``: ``prices/<region>.json`` beside Pulumi.yaml."""
    return root / "prices" / f"{region}.json"


def _price(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise PriceFileError(f"{where}: {value!r} is not a price (a finite number of USD, 0 or more)")
    return float(value)


def load_price_file(path: Path | str, *, region: Optional[str] = None) -> PriceFile:
    """Read a price file; anything malformed raises :class:`PriceFileError` naming the key."""
    text = read_text(path, what="the price file", limit=_MAX_PRICE_FILE)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PriceFileError(f"{path}: not JSON ({exc}); rewrite it with `mlstack prices update --region REGION`") from None
    return price_file_from_json(data, source=str(path), region=region)


def price_file_from_json(data: Any, *, source: str, region: Optional[str] = None) -> PriceFile:
    """A :class:`PriceFile` from its parsed JSON; ``source`` names it in messages."""
    path = source
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PriceFileError(f"{path}: not an mlstack price file (format {FORMAT!r}); rewrite it with `mlstack prices update`")
    for key in ("region", "retrieved"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise PriceFileError(f"{path}: {key} must be a non-empty string")
    if region is not None and data["region"] != region:
        raise PriceFileError(f"{path}: holds prices of {data['region']}, not {region}; run `mlstack prices update --region {region}`")
    instances: dict[str, dict[str, float]] = {}
    raw = data.get("instances")
    if not isinstance(raw, dict):
        raise PriceFileError(f"{path}: instances must be an object of use -> instance type -> USD per hour")
    for use, table in raw.items():
        if use not in ("endpoint", "training", "processing", "transform") or not isinstance(table, dict):
            raise PriceFileError(f"{path}: instances.{use}: not a use (endpoint, training, processing, transform) with a table of prices")
        instances[use] = {str(k): _price(v, f"{path}: instances.{use}.{k}") for k, v in table.items()}
    monthly_raw = data.get("monthly", {})
    if not isinstance(monthly_raw, dict):
        raise PriceFileError(f"{path}: monthly must be an object")
    monthly = {str(k): _price(v, f"{path}: monthly.{k}") for k, v in monthly_raw.items()}
    return PriceFile(data["region"], data["retrieved"], instances, monthly, source)


# --- the Price List API -------------------------------------------------------------------------


def _on_demand_usd(product: Mapping[str, Any], unit: Optional[str] = None) -> list[float]:
    """Every non-zero on-demand USD price per unit of a Price List entry (optionally of ``unit``)."""
    terms = product.get("terms")
    on_demand = terms.get("OnDemand") if isinstance(terms, Mapping) else None
    prices = []
    for term in (on_demand or {}).values() if isinstance(on_demand, Mapping) else ():
        dims = term.get("priceDimensions") if isinstance(term, Mapping) else None
        for dim in (dims or {}).values() if isinstance(dims, Mapping) else ():
            if not isinstance(dim, Mapping) or (unit and str(dim.get("unit", "")).lower() != unit.lower()):
                continue
            usd = (dim.get("pricePerUnit") or {}).get("USD") if isinstance(dim.get("pricePerUnit"), Mapping) else None
            try:
                value = float(usd)
            except (TypeError, ValueError):
                continue
            if math.isfinite(value) and value > 0:
                prices.append(value)
    return prices


def parse_price_list(items: Iterable[Any]) -> list[dict[str, Any]]:
    """The entries of a ``PriceList`` (JSON strings); an entry that is not a JSON object raises."""
    entries = []
    for i, item in enumerate(items):
        try:
            entry = json.loads(item) if isinstance(item, str) else None
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or not isinstance(entry.get("product"), dict):
            raise PriceFileError(f"PriceList[{i}] is not a JSON string holding a product ({str(item)[:80]!r})")
        entries.append(entry)
    return entries


def _use_of(attributes: Mapping[str, Any]) -> Optional[str]:
    component = str(attributes.get("component") or "").strip().lower()
    if component in USE_OF_COMPONENT:
        return USE_OF_COMPONENT[component]
    usage = str(attributes.get("usagetype") or "")
    if "-" in usage and ":" in usage:  # EUW1-Host:ml.g5.xlarge
        middle = usage.split("-", 1)[1].split(":", 1)[0].lower()
        return USE_OF_COMPONENT.get(middle)
    return None


def parse_instance_prices(entries: Iterable[Mapping[str, Any]], region: str) -> dict[str, dict[str, float]]:
    """use -> instance type -> USD per hour from SageMaker ``ML Instance`` entries of ``region``."""
    table: dict[str, dict[str, float]] = {}
    for entry in entries:
        attributes = entry["product"].get("attributes")
        if not isinstance(attributes, Mapping):
            continue
        if attributes.get("regionCode") not in (None, region):
            continue
        name = str(attributes.get("instanceName") or "")
        use = _use_of(attributes)
        if not _INSTANCE.match(name) or use is None:
            continue
        prices = _on_demand_usd(entry, "Hrs")
        if prices:
            current = table.setdefault(use, {}).get(name, 0.0)
            table[use][name] = max(current, *prices)
    return table


def _monthly(entries: Iterable[Mapping[str, Any]], usage_part: str) -> Optional[float]:
    """The highest on-demand USD price per month of entries whose usage type contains
    ``usage_part``; a price per hour (unit Hrs) is multiplied by 730."""
    best = None
    for entry in entries:
        attributes = entry["product"].get("attributes")
        usage = str(attributes.get("usagetype") or "") if isinstance(attributes, Mapping) else ""
        if usage_part not in usage:
            continue
        hourly = _on_demand_usd(entry, "Hrs")
        prices = [p * 730 for p in hourly] or _on_demand_usd(entry)
        for price in prices:
            best = price if best is None else max(best, price)
    return best


#: The monthly items: key -> (service code, filters, usage type suffix). A free tier (the first
#: alarms, dashboards) is not subtracted: its share of an account is unknown to one stack.
MONTHLY_ITEMS = {
    "kmsKey": ("AWSKMS", (), "KMS-Keys"),
    "alarm": ("AmazonCloudWatch", (("productFamily", "Alarm"),), "CW:AlarmMonitorUsage"),
    "compositeAlarm": ("AmazonCloudWatch", (("productFamily", "Alarm"),), "Composite"),
    "dashboard": ("AmazonCloudWatch", (("productFamily", "Dashboard"),), "Dashboard"),
}


def _get_products(client: Any, service: str, filters: list[dict[str, str]]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for page in client.get_paginator("get_products").paginate(ServiceCode=service, Filters=filters, FormatVersion="aws_v1"):
        items = page.get("PriceList")
        if not isinstance(items, list):
            raise PriceFileError(f"pricing GetProducts for {service} answered no PriceList list")
        entries.extend(parse_price_list(items))
    return entries


def fetch_prices(client: Any, region: str, *, today: Optional[_dt.date] = None) -> PriceFile:
    """Ask the Price List API (a boto3 ``pricing`` client) for ``region``'s prices."""

    def term(field_: str, value: str) -> dict[str, str]:
        return {"Type": "TERM_MATCH", "Field": field_, "Value": value}

    sagemaker = _get_products(client, "AmazonSageMaker", [term("regionCode", region), term("productFamily", "ML Instance")])
    instances = parse_instance_prices(sagemaker, region)
    if not instances:
        raise PriceFileError(
            f"the Price List API lists no SageMaker ML instance prices for {region!r}; check the region name "
            "(SageMaker may not be offered there)"
        )
    monthly: dict[str, float] = {}
    answers: dict[tuple, list[dict[str, Any]]] = {}
    for key, (service, extra, suffix) in MONTHLY_ITEMS.items():
        if (service, extra) not in answers:  # one query per service and filter
            answers[(service, extra)] = _get_products(client, service, [term("regionCode", region), *(term(f, v) for f, v in extra)])
        value = _monthly(answers[(service, extra)], suffix)
        if value is not None:
            monthly[key] = round(value, 6)
    date = (today or _dt.datetime.now(_dt.timezone.utc).date()).isoformat()
    return PriceFile(region, date, instances, monthly)
