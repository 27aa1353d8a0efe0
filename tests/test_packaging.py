"""Packaging hygiene: one version everywhere, a license, type information shipped."""

from __future__ import annotations

import tomllib

import yaml

from conftest import ROOT

import mlstack


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_pyproject_takes_its_version_from_the_package():
    project = _pyproject()
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mlstack.__version__"}


def test_the_cli_the_policy_pack_and_the_component_package_report_one_version(cli):
    from mlstack.hosted import package_version

    code, out, _ = cli("--version")
    assert code == 0 and out.strip() == f"mlstack {mlstack.__version__}"
    pack = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
    assert str(pack["version"]) == mlstack.__version__, "policies/PulumiPolicy.yaml's version must be mlstack's"
    assert package_version() == mlstack.__version__


def test_license_is_an_spdx_expression_with_its_text_shipped():
    project = _pyproject()["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text


def test_type_information_is_shipped():
    assert (ROOT / "mlstack" / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["mlstack"]
