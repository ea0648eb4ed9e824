"""SageMaker pipeline definitions, built offline with the SageMaker SDK (see pipelines/README.md).

Nothing in this package imports the SageMaker SDK at import time: the CDK app reads the generated
JSON through :mod:`pipelines.team_pipeline.template`, which is plain Python.
"""
