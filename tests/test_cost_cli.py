"""`mlstack cost` and the capacity/cost summary of `mlstack plan`, on churn-prod."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import ROOT
from mlstack.capacity import HOURS_PER_MONTH

PRICES = {
    "format": "mlstack-prices/1",
    "region": "eu-west-1",
    "retrieved": "2026-11-28",
    "instances": {
        "endpoint": {"ml.g5.xlarge": 2.0},
        "training": {"ml.g5.2xlarge": 3.0},
        "processing": {"ml.m5.large": 0.1, "ml.m5.xlarge": 0.2, "ml.m5.2xlarge": 0.4},
    },
    "monthly": {"kmsKey": 1.0, "alarm": 0.1, "compositeAlarm": 0.5, "dashboard": 3.0},
}


@pytest.fixture(scope="module")
def churn_prod_plan():
    from mlstack.engine import plan_stack

    return plan_stack("churn-prod", cwd=ROOT)


@pytest.fixture(autouse=True)
def planned_once(churn_prod_plan, monkeypatch):
    """Every command here plans churn-prod (or its copy): plan it once for the module."""
    import mlstack.engine

    monkeypatch.setattr(mlstack.engine, "plan_stack_file", lambda *a, **k: churn_prod_plan)
    monkeypatch.setattr(mlstack.engine, "plan_stack", lambda *a, **k: churn_prod_plan)


@pytest.fixture
def project(tmp_path):
    """A copy of the project (Pulumi.yaml, stacks/, the program) with a price file for eu-west-1."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    (tmp_path / "prices").mkdir()
    (tmp_path / "prices" / "eu-west-1.json").write_text(json.dumps(PRICES))
    return tmp_path


def test_cost_of_churn_prod_per_component_and_class(cli, project, tmp_path):
    out_json = tmp_path / "cost.json"
    code, out, err = cli("cost", str(project / "stacks/Pulumi.churn-prod.yaml"), "--json", str(out_json))
    assert code == 0, err
    report = json.loads(out_json.read_text())
    lines = {(line["component"], line["resource_class"]): line for line in report["lines"]}
    endpoint = lines[("Endpoint scoring", "endpoint instances")]
    assert endpoint["item"] == "endpoint churn-scoring variant primary"
    assert (endpoint["usd_min"], endpoint["usd_max"]) == (2 * HOURS_PER_MONTH * 2.0, 6 * HOURS_PER_MONTH * 2.0)
    jobs = {line["item"].split(" step ")[-1]: line for line in report["lines"] if line["resource_class"] == "processing runs"}
    drift, quality = jobs["DriftCheck"], jobs["QualityCheck"]  # both jobs are children of the Monitor
    assert drift["component"] == quality["component"] == "Monitor scoring"
    assert drift["usd_max"] == pytest.approx(HOURS_PER_MONTH * 0.1)  # hourly, at most 1 h on one ml.m5.large
    assert quality["usd_max"] == pytest.approx(HOURS_PER_MONTH / 24 * 0.1)  # daily, at most 1 h on one ml.m5.large
    assert report["componentsUsd"]["Endpoint scoring"]["max"] == pytest.approx(6 * HOURS_PER_MONTH * 2.0 + 1.0 + 2 * 0.1)
    assert lines[("Monitor scoring", "dashboards")]["usd_max"] == 3.0
    assert report["totalUsd"]["max"] == pytest.approx(sum(line["usd_max"] for line in report["lines"] if line["usd_max"] is not None))
    assert "spot training is priced at the on-demand rate" in out and "prices of eu-west-1 retrieved 2026-11-28" in out


def test_cost_without_a_price_file_prints_hours_and_where_dollars_come_from(cli):
    code, out, err = cli("cost", "churn-prod")
    assert code == 0, err
    assert "no price file: hours only" in out and "mlstack prices update --region eu-west-1" in out
    assert "4,380 instance-hours of ml.g5.xlarge" in out and "$" not in out


def test_plan_shows_capacity_and_cost_under_the_accelerator_totals(cli, project):
    code, out, err = cli("plan", str(project / "stacks/Pulumi.churn-prod.yaml"))
    assert code == 0, err
    accelerators, capacity, cost, outputs = (out.index(s) for s in ("accelerators:", "capacity (peak", "cost: ", "\noutputs:"))
    assert accelerators < capacity < cost < outputs
    assert "  ml.g5.xlarge           endpoint            6       12  1" in out
    assert "peak accelerators: 10 steady, 16 during a rollout" in out
