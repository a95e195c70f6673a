"""Local stand-ins for `sam local start-api` and `sam local invoke`, which need a container runtime.

`make run` (server.py): reads the routes from template.yaml, turns each HTTP request into an
API Gateway HTTP API (payload 2.0) event and hands it in-process to the function's handler.

`make invoke` (invoke.py): builds the function for this machine (build.py) and runs it in its
own process under AWS's runtime interface client, fed through a loopback Lambda Runtime API
(runtime_api.py, which the artifact tests use too).
"""
