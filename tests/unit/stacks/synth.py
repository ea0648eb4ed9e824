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
from stacks.placement import Placements

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
    template_paths: dict[str, Path]
    messages: dict[str, list[tuple[str, str, str]]]  # stack name -> (level, construct path, text)

    def resources(self, stack: str, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.templates[stack]["Resources"].items() if v["Type"] == type_}

    def all_resources(self, type_: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [(s, k, v) for s in self.templates for k, v in self.resources(s, type_).items()]


def synthesize(
    config: ProjectConfig, *, nag: bool = True, placements: Placements | None = None
) -> Synthesized:
    app = cdk.App(context=cdk_context(), builtin_cloud_formation_validation=False)  # as app.py
    assembly = build(app, config, placements)
    if nag:
        cdk.Aspects.of(app).add(AwsSolutionsChecks())
    return collect(app, config, assembly)


def collect(app: cdk.App, config: Any, assembly: Any) -> Synthesized:
    """Synthesizes `app` and reads back templates, sizes and annotations (cdk-nag findings among them)."""
    cloud_assembly = app.synth()
    templates: dict[str, dict[str, Any]] = {}
    sizes: dict[str, int] = {}
    paths: dict[str, Path] = {}
    messages: dict[str, list[tuple[str, str, str]]] = {}
    for artifact in cloud_assembly.stacks:
        path = Path(cloud_assembly.directory) / artifact.template_file
        paths[artifact.stack_name] = path
        sizes[artifact.stack_name] = path.stat().st_size
        templates[artifact.stack_name] = json.loads(path.read_text())
        messages[artifact.stack_name] = [
            (str(m.level.value), m.id, str(m.entry.data)) for m in artifact.messages
        ]
    return Synthesized(
        config=config,
        assembly=assembly,
        templates=templates,
        template_bytes=sizes,
        template_paths=paths,
        messages=messages,
    )


@cache
def example() -> Synthesized:
    return synthesize(load_config(EXAMPLE_CONFIG))
