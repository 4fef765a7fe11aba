"""Operator tools that run against a deployed Stepcanvas (real AWS, credentials from the
environment); not shipped in the Lambda asset."""
