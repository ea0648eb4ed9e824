"""Build the team pipeline definition (offline, deterministic) and print, write, check or render it.

    python -m pipelines.build                        # print the generated template JSON
    python -m pipelines.build --out pipelines/generated/team_pipeline.json
    python -m pipelines.build --check                # exit 1 if the checked-in file is stale
    python -m pipelines.build --render --team fraud --group-arn ARN --role-arn ARN \\
        --artifact-bucket B --kms-key-arn ARN --region eu-west-1 \\
        --code-bucket B --code-key K --release-code-key K --work-bucket B \\
        --input-data-url s3://...                    # one team's concrete definition

Needs the SageMaker SDK (``pip install -r pipelines/requirements.txt``); no AWS credentials.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipelines.team_pipeline import template as t


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines.build", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--out", type=Path, help="write the template to this file instead of stdout")
    mode.add_argument(
        "--check", action="store_true", help=f"compare with {t.TEMPLATE_PATH.name}; exit 1 if stale"
    )
    mode.add_argument("--render", action="store_true", help="print one team's filled-in pipeline definition")
    render = parser.add_argument_group("--render values")
    render.add_argument("--team")
    render.add_argument("--group-arn")
    render.add_argument("--role-arn")
    render.add_argument("--artifact-bucket")
    render.add_argument("--kms-key-arn")
    render.add_argument("--region")
    render.add_argument("--code-bucket")
    render.add_argument("--code-key")
    render.add_argument("--release-code-key", help="release.py in --code-bucket")
    render.add_argument("--work-bucket", help="the team's own bucket for job outputs")
    render.add_argument("--input-data-url")
    render.add_argument("--training-instance-type", default="ml.m5.xlarge")
    render.add_argument("--evaluation-instance-type", default="ml.m5.large")
    render.add_argument("--metric-threshold", type=float, default=0.8)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from pipelines.team_pipeline.definition import build_document, to_json  # imports the SDK lazily

    text = to_json(build_document())
    if args.check:
        current = t.TEMPLATE_PATH.read_text(encoding="utf-8") if t.TEMPLATE_PATH.exists() else ""
        if current != text:
            print(
                f"{t.TEMPLATE_PATH} is stale: run python -m pipelines.build --out {t.TEMPLATE_PATH}",
                file=sys.stderr,
            )
            return 1
        return 0
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        return 0
    if args.render:
        required = (
            "team",
            "group_arn",
            "role_arn",
            "artifact_bucket",
            "kms_key_arn",
            "region",
            "code_bucket",
            "code_key",
            "release_code_key",
            "work_bucket",
            "input_data_url",
        )
        missing = [f"--{name.replace('_', '-')}" for name in required if getattr(args, name) is None]
        if missing:
            print(f"--render needs {' '.join(missing)}", file=sys.stderr)
            return 2
        document = json.loads(text)
        definition = t.render(
            document["definition"],
            values={
                t.EXECUTION_ROLE_ARN: args.role_arn,
                t.MODEL_PACKAGE_GROUP_ARN: args.group_arn,
                t.ARTIFACT_BUCKET: args.artifact_bucket,
                t.ARTIFACT_PREFIX: args.team,
                t.ARTIFACT_KMS_KEY_ARN: args.kms_key_arn,
                t.IMAGE_URI: t.image_uri_for_region(document, args.region),
                t.EVALUATION_CODE_BUCKET: args.code_bucket,
                t.EVALUATION_CODE_KEY: args.code_key,
                t.RELEASE_CODE_BUCKET: args.code_bucket,
                t.RELEASE_CODE_KEY: args.release_code_key,
                t.WORK_BUCKET: args.work_bucket,
            },
            parameter_defaults={
                t.INPUT_DATA_URL: args.input_data_url,
                t.TRAINING_INSTANCE_TYPE: args.training_instance_type,
                t.EVALUATION_INSTANCE_TYPE: args.evaluation_instance_type,
                t.METRIC_THRESHOLD: args.metric_threshold,
            },
        )
        text = json.dumps(definition, indent=2, sort_keys=True) + "\n"
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
