"""Synth benchmarks: the example config and the 300-team config, each as a ratio to synthesizing a
one-resource CDK app in the same run. Every measurement is a fresh interpreter (import + build + synth).

Usage: python bench/synth_bench.py [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

ONE_RESOURCE = """
import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs
app = cdk.App(builtin_cloud_formation_validation={validation})
stack = cdk.Stack(app, "One", env=cdk.Environment(account="111111111111", region="eu-west-1"))
sqs.Queue(stack, "Queue")
app.synth()
"""

PROJECT = """
import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from stacks.assembly import build
from stacks.config import load_config, parse_config
{load}
app = cdk.App(builtin_cloud_formation_validation={validation})
build(app, config)
if {nag}:
    cdk.Aspects.of(app).add(AwsSolutionsChecks())
app.synth()
"""

EXAMPLE = "config = load_config('config/example.yaml')"
SCALE = "from tests.fixtures.scale import scale_config\nconfig = parse_config(scale_config())"


def _seconds(code: str) -> float:
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _median(code: str, runs: int) -> float:
    return statistics.median(_seconds(code) for _ in range(runs))


def measure(runs: int) -> dict[str, Any]:
    baseline = _median(ONE_RESOURCE.format(validation=False), runs)
    cases = {
        "example config": PROJECT.format(load=EXAMPLE, validation=False, nag=True),
        "example config, CloudFormation validation on": PROJECT.format(
            load=EXAMPLE, validation=True, nag=True
        ),
        "300 teams / 900 groups": PROJECT.format(load=SCALE, validation=False, nag=False),
    }
    results: dict[str, Any] = {"one-resource app seconds": round(baseline, 2)}
    for name, code in cases.items():
        seconds = _median(code, 1 if "300" in name else runs)
        results[name] = {
            "seconds": round(seconds, 2),
            "ratio to one-resource app": round(seconds / baseline, 2),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = measure(args.runs)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print("Synth time (fresh interpreter: import, build, synth; cdk-nag on the example, off at scale)")
    print(f"  one-resource CDK app: {results['one-resource app seconds']:.2f} s (the unit)")
    for name, value in results.items():
        if isinstance(value, dict):
            print(f"  {name}: {value['seconds']:.2f} s = {value['ratio to one-resource app']:.2f}x")


if __name__ == "__main__":
    main()
