#!/usr/bin/env python3
"""CDK composition root: the only place that reads context or environment."""

import os
import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from stacks.assembly import build
from stacks.config import ConfigError, load_config

# CloudFormation validation during synth is off: cfn-lint checks every template in `make test`, and the
# built-in validator doubles synth time (measured in `make bench`).
app = cdk.App(builtin_cloud_formation_validation=False)
config_path = app.node.try_get_context("config") or "config/example.yaml"
try:
    config = load_config(config_path)
except ConfigError as err:
    print(f"{config_path}: {err}", file=sys.stderr)
    sys.exit(1)
for warning in config.warnings:
    print(f"{config_path}: warning: {warning}", file=sys.stderr)

build(app, config)
if os.environ.get("MLOPS_SKIP_NAG") != "1":
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
app.synth()
