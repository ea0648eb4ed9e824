"""The README's `./cdk` commands print what cdk prints and nothing else: no Node end-of-life banner
(jsii, in the Python app), no AWS SDK Node-version warning (the CLI), no notices, no "feature flags are
not configured" (cdk.json sets every flag aws-cdk-lib lists)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.unit.stacks.synth import ROOT

pytestmark = pytest.mark.skipif(shutil.which("npx") is None, reason="the CDK CLI (npx) is not installed")


def test_cdk_wrapper_is_quiet_without_the_makefiles_environment(tmp_path) -> None:
    quiet = (
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION",
        "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED",
    )
    env = {k: v for k, v in os.environ.items() if k not in quiet}
    env.pop("MLOPS_SKIP_NAG", None)  # with cdk-nag, as the README's commands run
    env.pop("JSII_DEPRECATED", None)
    result = subprocess.run(
        [str(ROOT / "cdk"), "synth", "--quiet", "--output", str(tmp_path / "out")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "MlopsRegistry.template.json").exists()
    for noise in ("end-of-life", "Warning", "deprecated", "NOTICES", "feature flags"):
        assert noise not in result.stderr, result.stderr
