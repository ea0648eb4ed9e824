"""Nothing silently accepted: duplicate keys, unknown stages, invalid instance types, shared approvers."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.config import DEFAULT_STAGES, ConfigError, load_config, parse_config
from tests.unit.stacks.synth import EXAMPLE_CONFIG
from tests.unit.stacks.test_app_entrypoint import run_app
from tests.unit.stacks.test_config import DEP, with_change


def test_a_repeated_deployment_key_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    text = EXAMPLE_CONFIG.read_text()
    block = text[text.index("  fraud-detector-prod:") : text.index("  recommender-prod:")]
    config = tmp_path / "dup.yaml"
    config.write_text(text + block.replace("instance_count: 2", "instance_count: 4"))
    with pytest.raises(ConfigError) as err:
        load_config(config)
    assert err.value.path == "deployments.fraud-detector-prod"
    first = text[: text.index("  fraud-detector-prod:")].count("\n") + 1
    assert f"repeats the key of line {first}" in str(err.value)


def test_a_repeated_nested_key_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "dup.yaml"
    config.write_text(
        EXAMPLE_CONFIG.read_text().replace(
            "    follows: Approved\n", "    follows: Approved\n    follows: Production\n"
        )
    )
    with pytest.raises(ConfigError) as err:
        load_config(config)
    assert err.value.path == "deployments.fraud-detector-prod.follows"


@pytest.mark.parametrize(
    ("follows", "suggestion"),
    [("approved", "did you mean 'Approved'"), ("Prodution", "did you mean 'Production'"), ("prod", "")],
)
def test_follows_must_be_approved_or_a_declared_stage(follows: str, suggestion: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(with_change(f"{DEP}.follows", follows))
    assert err.value.path == f"{DEP}.follows"
    assert "registry.stages" in str(err.value)
    assert suggestion in str(err.value)


def test_declared_stages_replace_the_defaults() -> None:
    raw = with_change("registry.stages", ["Canary", "Live"])
    raw["deployments"]["recommender-prod"]["follows"] = "Live"
    raw["teams"]["fraud"].pop("stage_approvers")  # names Production, no longer declared
    config = parse_config(raw)
    assert config.registry.stages == ("Canary", "Live")
    assert parse_config(with_change("registry.region", "eu-west-1")).registry.stages == DEFAULT_STAGES
    with pytest.raises(ConfigError) as err:  # Production is no longer declared
        parse_config(with_change("registry.stages", ["Canary", "Live"]))
    assert err.value.path == "deployments.recommender-prod.follows"


@pytest.mark.parametrize("stages", [[], "Production", ["Approved"], ["Live", "live"], ["bad stage"]])
def test_invalid_stage_lists(stages) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(with_change("registry.stages", stages))
    assert err.value.path.startswith("registry.stages")


def test_instance_types_come_from_the_service_model() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(with_change(f"{DEP}.instance_type", "ml.m5.larg"))
    message = str(err.value)
    assert err.value.path == f"{DEP}.instance_type"
    assert "did you mean 'ml.m5.large'" in message and "ProductionVariantInstanceType" in message
    with pytest.raises(ConfigError):
        parse_config(with_change(f"{DEP}.instance_type", "ml.m99.large"))  # the old pattern accepted it
    assert parse_config(with_change(f"{DEP}.instance_type", "ml.g5.xlarge")).deployments[0].instance_type == (
        "ml.g5.xlarge"
    )


def test_pipeline_instance_types_are_checked_against_their_own_api() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(with_change("teams.fraud.pipeline.training_instance_type", "ml.m5.larg"))
    assert "TrainingInstanceType" in str(err.value)
    with pytest.raises(ConfigError) as err:
        parse_config(with_change("teams.fraud.pipeline.evaluation_instance_type", "ml.t2.nano"))
    assert "ProcessingInstanceType" in str(err.value)


def test_an_approver_account_of_another_team_warns() -> None:
    assert parse_config(with_change("teams.fraud.approver_account", "444444444444")).warnings == ()
    config = parse_config(with_change("teams.fraud.approver_account", "555555555555"))
    (warning,) = config.warnings
    assert "teams.fraud.approver_account" in warning and "recsys" in warning


def test_synth_prints_the_warning_and_goes_on(tmp_path: Path) -> None:
    """As `cdk synth` runs the app: the warning is on stderr and every stack is still made."""
    config = tmp_path / "shared-approver.yaml"
    config.write_text(EXAMPLE_CONFIG.read_text().replace('"444444444444"', '"555555555555"'))
    result = run_app(config, tmp_path / "out")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{config}: warning: teams.fraud.approver_account" in result.stderr
    assert (tmp_path / "out" / "manifest.json").exists()


def test_synth_stops_at_a_duplicate_key_with_one_message(tmp_path: Path) -> None:
    config = tmp_path / "dup.yaml"
    config.write_text(EXAMPLE_CONFIG.read_text().replace("  recsys:\n", "  fraud:\n", 1))
    result = run_app(config, tmp_path / "out")
    assert result.returncode == 1
    (message,) = result.stderr.strip().splitlines()
    assert message.startswith(f"{config}: config error at 'teams.fraud'")
