#!/usr/bin/env python3
"""CDK composition root: the only place that reads context or environment."""

import os
import sys
from pathlib import Path

# cdk-nag's EventBridge rule reads CfnEventBusPolicy's deprecated `principal` property, which made jsii
# print a deprecation warning on every synth although this app never sets it. Our own code uses no
# deprecated API: tests/unit/stacks/test_app_entrypoint.py synthesizes with JSII_DEPRECATED=fail.
os.environ.setdefault("JSII_DEPRECATED", "quiet")

import aws_cdk as cdk  # noqa: E402 - after the environment the jsii runtime inherits
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from stacks.assembly import build  # noqa: E402
from stacks.config import ConfigError, load_config  # noqa: E402
from stacks.placement import Allowances, load_placements, placements_path, plan  # noqa: E402


def _names(value: object) -> frozenset[str]:
    return frozenset(n.strip() for n in str(value or "").split(",") if n.strip())


# CloudFormation validation during synth is off: cfn-lint checks every template in `make test`, and the
# built-in validator doubles synth time (measured in `make bench`).
app = cdk.App(builtin_cloud_formation_validation=False)
config_path = app.node.try_get_context("config") or "config/example.yaml"
# The record of where every team lives (stacks/placement.py), committed next to the config.
record = Path(app.node.try_get_context("placements") or placements_path(config_path))
allow = Allowances(
    retire=_names(app.node.try_get_context("allow_retire")),
    release=_names(app.node.try_get_context("allow_release")),
)
try:
    config = load_config(config_path)
    previous = load_placements(record)
    placements = plan(config, previous, allow)
except ConfigError as err:
    print(f"{config_path}: {err}", file=sys.stderr)
    sys.exit(1)
for warning in config.warnings:
    print(f"{config_path}: warning: {warning}", file=sys.stderr)
text = placements.to_json()
if not record.exists() or record.read_text() != text:
    record.write_text(text)
    print(f"{record}: team placements updated; commit this file with the config", file=sys.stderr)

build(app, config, placements)
if os.environ.get("MLOPS_SKIP_NAG") != "1":
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
app.synth()
