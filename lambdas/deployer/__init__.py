"""Approval-driven, zero-downtime SageMaker endpoint deployer (a reconciling controller).

The Lambda entry point is ``deployer.handler.handler``. Nothing in this package creates an AWS
client at import time (cold start budget); see ``deployer.aws``.
"""
