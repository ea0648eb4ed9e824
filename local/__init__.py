"""Local stand-ins for AWS: the moto extension (``local.emulator``) and the Lambda SQS runner."""
