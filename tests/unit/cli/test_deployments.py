"""Where the managed endpoints come from: DEPLOYMENTS inline, DEPLOYMENTS_FILE in the code package,
or --deployments-file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.cli.world import SERVING_ACCOUNT, World


def _seed(world: World, *, as_file: bool) -> None:
    world.group("fraud-detector")
    world.version("fraud-detector", "Approved")
    world.deployment("fraud-prod", "fraud-detector", account=SERVING_ACCOUNT)
    world.deployer(as_file=as_file)


def test_deployments_file_in_the_code_package(world: World, cli, calls, monkeypatch) -> None:
    _seed(world, as_file=True)
    fetched: list[str] = []

    def download(url: str) -> bytes:  # moto's Code.Location is not served: hand over the package
        fetched.append(url)
        return world.code_package

    monkeypatch.setattr("mlops_cli.deployments.download", download)
    run = cli("groups", "--json")
    assert run.code == 0, run.err
    assert run.json()[0]["endpoints"][0]["endpoint_id"] == f"{SERVING_ACCOUNT}/eu-west-1/fraud-prod"
    assert len(fetched) == 1 and calls.named("GetFunction")


def test_package_download_failure_points_to_the_local_file_option(world: World, cli, monkeypatch) -> None:
    _seed(world, as_file=True)

    def unreachable(url: str) -> bytes:
        raise OSError("Name or service not known")

    monkeypatch.setattr("mlops_cli.deployments.download", unreachable)
    run = cli("status")
    assert run.code == 4
    assert "cannot download the code package of mlops-deployer" in run.err and "--deployments-file" in run.err


def test_deployments_file_option_skips_the_deployer(world: World, cli, calls, tmp_path: Path) -> None:
    _seed(world, as_file=True)
    path = tmp_path / "deployments.json"
    path.write_text(json.dumps(world.deployments))
    calls.clear()
    run = cli("groups", "--deployments-file", str(path), "--json")
    assert run.code == 0, run.err
    assert run.json()[0]["endpoints"][0]["endpoint"] == "fraud-prod"
    assert not calls.named("GetFunctionConfiguration")
    missing = cli("status", "--deployments-file", str(tmp_path / "nope.json"))
    assert missing.code == 1 and "cannot read --deployments-file" in missing.err


def test_malformed_deployments(world: World, cli, tmp_path: Path) -> None:
    world.group("g")
    path = tmp_path / "d.json"
    path.write_text('[{"endpoint": "x"}]')
    run = cli("status", "--deployments-file", str(path))
    assert run.code == 6 and "missing a required key" in run.err
    path.write_text("{not json")
    assert "not valid JSON" in cli("status", "--deployments-file", str(path)).err


def test_deployments_file_from_the_environment(world: World, cli, monkeypatch, tmp_path: Path) -> None:
    _seed(world, as_file=True)
    path = tmp_path / "deployments.json"
    path.write_text(json.dumps(world.deployments))
    monkeypatch.setenv("MLOPS_DEPLOYMENTS_FILE", str(path))
    run = cli("groups", "--json")
    assert run.code == 0 and run.json()[0]["endpoints"][0]["endpoint"] == "fraud-prod"
