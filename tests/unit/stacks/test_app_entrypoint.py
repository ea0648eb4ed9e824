"""`cdk synth` runs app.py: a bad config must stop it with one clear message, and a good one synthesizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.unit.stacks.synth import EXAMPLE_CONFIG, ROOT


def run_app(
    config: Path, outdir: Path, *, context: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({"config": str(config), **(context or {})}),
        "CDK_OUTDIR": str(outdir),
        "MLOPS_SKIP_NAG": "1",
        "JSII_DEPRECATED": "fail",  # our own code uses no deprecated API (app.py quiets only cdk-nag's)
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_bad_config_fails_with_the_key_path_the_value_and_what_is_allowed(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE_CONFIG.read_text().replace("step_percent: 25", "step_percent: 75"))
    result = run_app(bad, tmp_path / "out")
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(
        f"{bad}: config error at 'deployments.fraud-detector-prod.rollout.step_percent': 75"
    )
    assert "an integer from 1 to 50" in message
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_good_config_synthesizes_every_stack(tmp_path: Path) -> None:
    result = run_app(EXAMPLE_CONFIG, tmp_path / "out")
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    stacks = {k for k, v in manifest["artifacts"].items() if v["type"] == "aws:cloudformation:stack"}
    assert stacks == {
        "MlopsRegistry",
        "MlopsRegistryTeams0",
        "MlopsDeployer",
        "MlopsServing-111111111111-eu-west-1",
        "MlopsServing-333333333333-eu-west-1",
        "MlopsTeamPipeline-fraud",
        "MlopsTeamImages-fraud",
    }
