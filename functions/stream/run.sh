#!/bin/sh
# The stream function's handler under the Lambda Web Adapter layer
# (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap, AWS_LWA_INVOKE_MODE=response_stream): the
# adapter turns each invocation into an HTTP request to this server on AWS_LWA_PORT.
exec python3 -m uvicorn functions.stream.app:app --host 127.0.0.1 --port "${AWS_LWA_PORT:-8080}" --no-access-log
