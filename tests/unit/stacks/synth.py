"""Synthesizes configs once per test session; tests read the resulting CloudFormation templates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from stacks.assembly import Assembly, build
from stacks.config import ProjectConfig, load_config

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_CONFIG = ROOT / "config" / "example.yaml"


def cdk_context() -> dict[str, Any]:
    """The feature flags of cdk.json, so tests synthesize exactly what `cdk synth` does."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {k: v for k, v in context.items() if k != "config"}


@dataclass
class Synthesized:
    config: ProjectConfig
    assembly: Assembly
    templates: dict[str, dict[str, Any]]  # stack name -> template
    template_bytes: dict[str, int]

    def resources(self, stack: str, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.templates[stack]["Resources"].items() if v["Type"] == type_}

    def all_resources(self, type_: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [(s, k, v) for s in self.templates for k, v in self.resources(s, type_).items()]


def synthesize(config: ProjectConfig, *, nag: bool = True) -> Synthesized:
    app = cdk.App(context=cdk_context())
    assembly = build(app, config)
    if nag:
        cdk.Aspects.of(app).add(AwsSolutionsChecks())
    cloud_assembly = app.synth()
    templates: dict[str, dict[str, Any]] = {}
    sizes: dict[str, int] = {}
    for artifact in cloud_assembly.stacks:
        path = Path(cloud_assembly.directory) / artifact.template_file
        sizes[artifact.stack_name] = path.stat().st_size
        templates[artifact.stack_name] = json.loads(path.read_text())
    return Synthesized(config=config, assembly=assembly, templates=templates, template_bytes=sizes)


@cache
def example() -> Synthesized:
    return synthesize(load_config(EXAMPLE_CONFIG))
