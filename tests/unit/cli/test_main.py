"""Argument handling, exit codes, AWS session options, emulator errors, `local up`."""

from __future__ import annotations

import socket
import sys
import types

import pytest

from mlops_cli.main import main
from mlops_cli.metrics import flatten_report
from tests.unit.cli.world import World


def test_help_and_usage_errors(cli, capsys) -> None:
    assert main(["--help"]) == 0
    assert "Exit codes" in capsys.readouterr().out
    assert cli().code == 1  # no command
    assert cli("versions").code == 1  # missing argument
    assert cli("show", "g", "zero").code == 1
    assert cli("versions", "g", "--status", "Maybe").code == 1


def test_json_before_or_after_the_command(world: World, cli) -> None:
    world.group("g")
    assert cli("--json", "groups").json() == cli("groups", "--json").json()
    assert cli("--json", "groups").json()[0]["group"] == "g"


def test_region_option_wins(world: World, cli) -> None:
    world.group("g")
    assert cli("groups", "--region", "us-east-1", "--json").json() == []


def test_role_arn_is_assumed_first(world: World, cli, calls) -> None:
    world.group("g")
    run = cli("groups", "--role-arn", "arn:aws:iam::123456789012:role/mlops-risk-approver", "--json")
    assert run.code == 0, run.err
    (assume,) = calls.named("AssumeRole")
    assert assume["RoleArn"] == "arn:aws:iam::123456789012:role/mlops-risk-approver"
    assert assume["RoleSessionName"].startswith("mlops-cli-")


def test_denied_assume_role_names_the_role(world: World, cli, deny) -> None:
    deny("AssumeRole")
    run = cli("groups", "--role-arn", "arn:aws:iam::123456789012:role/mlops-risk-approver")
    assert run.code == 3
    assert "sts:AssumeRole on arn:aws:iam::123456789012:role/mlops-risk-approver" in run.err


def test_denied_listing_is_exit_3(world: World, cli, deny) -> None:
    deny("ListModelPackageGroups")
    run = cli("groups")
    assert run.code == 3 and "permission denied for ListModelPackageGroups" in run.err


def test_unknown_profile_is_a_usage_error(cli) -> None:
    run = cli("groups", "--profile", "does-not-exist")
    assert run.code == 1 and "does-not-exist" in run.err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return int(sock.getsockname()[1])


def test_emulator_not_running(cli, monkeypatch) -> None:
    url = f"http://localhost:{_free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    run = cli("groups")
    assert run.code == 4
    assert f"cannot reach AWS_ENDPOINT_URL={url}" in run.err and "mlops local up" in run.err


def test_local_up_without_the_emulator(cli, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "local.emulator.up", None)  # import fails as if the file were missing
    run = cli("local", "up")
    assert run.code == 1 and "local emulator is not available" in run.err


def test_local_up_calls_the_emulator_lazily(cli, monkeypatch) -> None:
    seen: list[list[str]] = []
    fake = types.ModuleType("local.emulator.up")
    fake.main = lambda argv: seen.append(argv) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "local.emulator.up", fake)
    assert cli("local", "up", "--config", "config/example.yaml", "--port", "5005").code == 0
    assert seen == [["--config", "config/example.yaml", "--port", "5005"]]


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        (
            {"regression_metrics": {"mse": {"value": 1.5, "standard_deviation": 0.1}, "r2": {"value": 0.8}}},
            {"mse": 1.5, "r2": 0.8},
        ),
        (
            {"binary_classification_metrics": {"auc": {"value": 0.9}, "confusion_matrix": {"0": {"0": 5}}}},
            {"auc": 0.9},
        ),
        ({"metrics": {"accuracy": 0.7}, "loss": 0.3}, {"accuracy": 0.7, "loss": 0.3}),
        (
            {"a_metrics": {"f1": {"value": 0.5}}, "b_metrics": {"f1": {"value": 0.6}}},
            {"a_metrics.f1": 0.5, "b_metrics.f1": 0.6},
        ),
        ({"x": {"flag": {"value": True}, "nan": {"value": float("nan")}, "s": {"value": "1"}}}, {}),
        ([1, 2], {}),
    ],
)
def test_flatten_report(report, expected) -> None:
    assert flatten_report(report) == expected
