"""Prices from the Price List API (documented PriceList shape: JSON strings), the price file, and cost."""

from __future__ import annotations

import datetime
import json

import pytest
from botocore.stub import ANY, Stubber

from mlstack.capacity import HOURS_PER_MONTH, Node, capacity_of
from mlstack.pricing import PriceFile, PriceFileError, fetch_prices, load_price_file, parse_instance_prices, parse_price_list
from mlstack.pricing.cost import estimate


def product(attributes, usd, unit="Hrs", family="ML Instance"):
    return json.dumps(
        {
            "product": {"productFamily": family, "sku": "SKU1", "attributes": attributes},
            "serviceCode": "AmazonSageMaker",
            "terms": {"OnDemand": {"SKU1.JRTCKXETXF": {"priceDimensions": {"SKU1.JRTCKXETXF.6YS6EN2CT7": {
                "unit": unit, "pricePerUnit": {"USD": usd}, "description": "..."}}, "sku": "SKU1"}}},
            "version": "20261101", "publicationDate": "2026-11-01T00:00:00Z",
        }
    )


def ml(name, component, usd, region="eu-west-1"):
    return product({"regionCode": region, "instanceName": name, "component": component, "usagetype": f"EUW1-x:{name}"}, usd)


def test_instance_prices_per_use_from_price_list_entries():
    entries = parse_price_list([
        ml("ml.g5.xlarge", "Hosting", "1.6060000000"),
        ml("ml.g5.xlarge", "Training", "1.5900000000"),
        ml("ml.m5.xlarge", "Processing", "0.2560000000"),
        ml("ml.m5.xlarge", "Batch Transform", "0.2560000000"),
        ml("ml.g5.xlarge", "Hosting", "9.0", region="us-east-1"),  # another region: ignored
        ml("ml.g5.xlarge", "Notebook", "1.7"),  # a use mlstack does not run: ignored
        product({"regionCode": "eu-west-1", "instanceName": "ml.p5.48xlarge", "usagetype": "EUW1-Host:ml.p5.48xlarge"}, "0.0000000000"),
    ])
    table = parse_instance_prices(entries, "eu-west-1")
    assert table == {
        "endpoint": {"ml.g5.xlarge": 1.606},
        "training": {"ml.g5.xlarge": 1.59},
        "processing": {"ml.m5.xlarge": 0.256},
        "transform": {"ml.m5.xlarge": 0.256},
    }


def test_the_highest_of_several_on_demand_prices_is_kept():
    entries = parse_price_list([ml("ml.g5.xlarge", "Hosting", "1.0"), ml("ml.g5.xlarge", "Hosting", "1.5")])
    assert parse_instance_prices(entries, "eu-west-1")["endpoint"]["ml.g5.xlarge"] == 1.5


def test_a_price_list_entry_that_is_not_a_json_string_is_refused():
    with pytest.raises(PriceFileError):
        parse_price_list([{"product": {}}])
    with pytest.raises(PriceFileError):
        parse_price_list(["<html>"])


def test_fetch_prices_asks_the_price_list_api_and_writes_a_dated_file(tmp_path):
    import boto3

    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    with Stubber(client) as stub:
        stub.add_response("get_products", {"PriceList": [ml("ml.g5.xlarge", "Hosting", "1.606")], "FormatVersion": "aws_v1"},
                          {"ServiceCode": "AmazonSageMaker", "Filters": ANY, "FormatVersion": "aws_v1"})
        stub.add_response("get_products", {"PriceList": [product({"regionCode": "eu-west-1", "usagetype": "EUW1-KMS-Keys"}, "1.0000000000", unit="Keys")]},
                          {"ServiceCode": "AWSKMS", "Filters": ANY, "FormatVersion": "aws_v1"})
        stub.add_response("get_products", {"PriceList": [
            product({"regionCode": "eu-west-1", "usagetype": "EUW1-CW:AlarmMonitorUsage"}, "0.1000000000", unit="Alarms"),
            product({"regionCode": "eu-west-1", "usagetype": "EUW1-CW:CompositeAlarmMonitorUsage"}, "0.5000000000", unit="Alarms"),
        ]}, {"ServiceCode": "AmazonCloudWatch", "Filters": ANY, "FormatVersion": "aws_v1"})
        stub.add_response("get_products", {"PriceList": [product({"regionCode": "eu-west-1", "usagetype": "EUW1-DashboardsUsageHour-Basic"}, "3.0000000000", unit="Dashboards")]},
                          {"ServiceCode": "AmazonCloudWatch", "Filters": ANY, "FormatVersion": "aws_v1"})
        prices = fetch_prices(client, "eu-west-1", today=datetime.date(2026, 11, 28))
    assert prices.instances == {"endpoint": {"ml.g5.xlarge": 1.606}}
    assert prices.monthly == {"kmsKey": 1.0, "alarm": 0.1, "compositeAlarm": 0.5, "dashboard": 3.0}
    path = tmp_path / "eu-west-1.json"
    path.write_text(json.dumps(prices.to_json()))
    loaded = load_price_file(path, region="eu-west-1")
    assert loaded.retrieved == "2026-11-28" and loaded.hourly("ml.g5.xlarge", "endpoint") == 1.606


def test_a_region_with_no_sagemaker_prices_is_an_error():
    import boto3

    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    with Stubber(client) as stub:
        stub.add_response("get_products", {"PriceList": []}, {"ServiceCode": "AmazonSageMaker", "Filters": ANY, "FormatVersion": "aws_v1"})
        with pytest.raises(PriceFileError, match="no SageMaker ML instance prices"):
            fetch_prices(client, "eu-west-9")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not JSON"),
        ('{"format": "other"}', "not an mlstack price file"),
        ('{"format": "mlstack-prices/1", "region": "us-east-1", "retrieved": "2026-11-28", "instances": {}}', "not eu-west-1"),
        ('{"format": "mlstack-prices/1", "region": "eu-west-1", "retrieved": "x", "instances": {"endpoint": {"ml.g5.xlarge": -1}}}', "instances.endpoint.ml.g5.xlarge"),
    ],
)
def test_a_bad_price_file_names_the_problem(tmp_path, content, message):
    path = tmp_path / "p.json"
    path.write_text(content)
    with pytest.raises(PriceFileError, match=message):
        load_price_file(path, region="eu-west-1")


def fleet_nodes():
    return [
        Node("mlstack:index:Endpoint", "scoring", "urn:comp", None, {}),
        Node("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "cfg", "urn:cfg", "urn:comp",
             {"productionVariants": [{"variantName": "primary", "instanceType": "ml.g5.xlarge", "initialInstanceCount": 2}]}),
        Node("aws:sagemaker/endpoint:Endpoint", "ep", "urn:ep", "urn:comp", {"name": "churn-scoring"}, ("urn:cfg",)),
        Node("aws:appautoscaling/target:Target", "t", "urn:t", "urn:comp",
             {"serviceNamespace": "sagemaker", "resourceId": "endpoint/churn-scoring/variant/primary", "minCapacity": 2, "maxCapacity": 6}),
        Node("aws:kms/key:Key", "k", "urn:k", "urn:comp", {}),
        Node("aws:cloudwatch/metricAlarm:MetricAlarm", "a", "urn:a", "urn:comp", {}),
    ]


PRICES = PriceFile("eu-west-1", "2026-11-28", {"endpoint": {"ml.g5.xlarge": 1.5}}, {"kmsKey": 1.0, "alarm": 0.1}, "prices/eu-west-1.json")


def test_cost_at_minimum_and_maximum_scale():
    nodes = fleet_nodes()
    report = estimate(nodes, capacity_of(nodes), PRICES, stack="churn-prod")
    assert report.total("min") == pytest.approx(2 * HOURS_PER_MONTH * 1.5 + 1.0 + 0.1)
    assert report.total("max") == pytest.approx(6 * HOURS_PER_MONTH * 1.5 + 1.0 + 0.1)
    assert any(line.component == "Endpoint scoring" and line.resource_class == "KMS keys" for line in report.lines)


def test_without_prices_there_are_hours_and_no_dollars():
    nodes = fleet_nodes()
    report = estimate(nodes, capacity_of(nodes), None, stack="churn-prod")
    assert report.total("max") is None
    assert all(line.usd_max is None for line in report.lines)
    text = report.render()
    assert "4,380 instance-hours of ml.g5.xlarge" in text and "mlstack prices update" in text


def test_an_instance_type_without_a_price_leaves_the_total_unknown():
    nodes = fleet_nodes()
    prices = PriceFile("eu-west-1", "2026-11-28", {"endpoint": {}}, {"kmsKey": 1.0, "alarm": 0.1}, "p.json")
    report = estimate(nodes, capacity_of(nodes), prices)
    assert report.total("max") is None and "no price for ml.g5.xlarge" in report.render()


def test_prices_update_writes_the_projects_price_file_for_cost_to_read(tmp_path, monkeypatch):
    """`mlstack prices update --region eu-west-1` in a project: prices/eu-west-1.json, then read back."""
    from mlstack.ops.aws import Aws

    (tmp_path / "Pulumi.yaml").write_text("name: mlstack\nruntime: python\n")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    real = Aws.client
    seen = []

    def client(self, service):
        made = real(self, service)
        if service == "pricing" and not seen:
            seen.append(made.meta.region_name)
            stub = Stubber(made)
            stub.add_response("get_products", {"PriceList": [ml("ml.g5.xlarge", "Hosting", "1.606")]}, {"ServiceCode": "AmazonSageMaker", "Filters": ANY, "FormatVersion": "aws_v1"})
            for service_code in ("AWSKMS", "AmazonCloudWatch", "AmazonCloudWatch"):  # keys; alarms (both kinds); dashboards
                stub.add_response("get_products", {"PriceList": []}, {"ServiceCode": service_code, "Filters": ANY, "FormatVersion": "aws_v1"})
            stub.activate()
        return made

    monkeypatch.setattr(Aws, "client", client)
    monkeypatch.chdir(tmp_path)
    from mlstack.cli import main

    assert main(["prices", "update", "--region", "eu-west-1", "--max-attempts", "1"]) == 0
    assert seen == ["us-east-1"]  # the Price List API's own region; the prices are eu-west-1's
    data = json.loads((tmp_path / "prices" / "eu-west-1.json").read_text())
    assert data["region"] == "eu-west-1" and data["instances"] == {"endpoint": {"ml.g5.xlarge": 1.606}}
    assert data["retrieved"] == datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    assert load_price_file(tmp_path / "prices" / "eu-west-1.json", region="eu-west-1").hourly("ml.g5.xlarge", "endpoint") == 1.606
