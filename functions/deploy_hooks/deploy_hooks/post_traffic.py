"""The post-traffic (AfterAllowTraffic) hook: the new version through the path users take, all traffic on it.

CodeDeploy invokes it (`Handler: deploy_hooks.post_traffic.lambda_handler`) once `live` points at
the new version. Each check of the contract is a real HTTPS request to the stack's HTTP API, the
IAM-authorized route SigV4-signed with this function's role, so API Gateway's routes, authorizer
and invoke permissions are proved along with the code, with no outside traffic needed.

The API's URL is looked up, not configured: an environment variable naming it would make this
function depend on the API, whose routes depend on `live`, whose update depends on this hook
(a circular dependency CloudFormation refuses).
"""

from __future__ import annotations

import http.client
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from boto3.session import Session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config

from deploy_hooks.codedeploy import HookStatus, NoAnswerError, run_checks, run_hook
from deploy_hooks.contract import CHECKS, Answer, Check

STACK_ID = "STACK_ID"  # the stack whose HttpApi to check (!Ref AWS::StackId)
API_LOGICAL_ID = "HttpApi"
# API Gateway gives an integration at most 30 s; the API function's own timeout is 5 s.
HTTP_TIMEOUT_SECONDS = 10
ANSWER_WORST_CASE_SECONDS = 2 * HTTP_TIMEOUT_SECONDS  # connecting, then reading
BODY_LIMIT = 1024 * 1024  # the largest answer checked, the OpenAPI document, is ~15 KB
LOOKUP_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3})


def lambda_handler(event: Any, context: Any) -> None:
    run_hook(event, context, _verdict)


def _verdict(session: Session, seconds_left: Callable[[], float]) -> HookStatus:
    endpoint = api_endpoint(session, os.environ[STACK_ID])
    return run_checks(
        CHECKS, lambda check: get(session, endpoint, check), seconds_left, ANSWER_WORST_CASE_SECONDS, where=endpoint
    )


def api_endpoint(session: Session, stack_id: str) -> str:
    """The HTTP API's default endpoint, as API Gateway gives it: https://{api-id}.execute-api.{region}.amazonaws.com."""
    cloudformation = session.client("cloudformation", config=LOOKUP_CONFIG)
    resource = cloudformation.describe_stack_resource(StackName=stack_id, LogicalResourceId=API_LOGICAL_ID)
    api_id = resource["StackResourceDetail"]["PhysicalResourceId"]
    endpoint: str = session.client("apigatewayv2", config=LOOKUP_CONFIG).get_api(ApiId=api_id)["ApiEndpoint"]
    return endpoint


def get(session: Session, endpoint: str, check: Check) -> Answer:
    """One request of the check, as a caller on the internet makes it: no retry, no redirect followed."""
    url = urlsplit(endpoint)
    target = url.path.rstrip("/") + check.path
    headers = {"Accept": "application/json", "User-Agent": "petsage-post-traffic-hook"}
    if check.signed:
        headers = _signed(session, check.method, f"{url.scheme}://{url.netloc}{target}", headers)
    connection_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(url.hostname or "", url.port, timeout=HTTP_TIMEOUT_SECONDS)
    try:
        connection.request(check.method, target, headers=headers)
        response = connection.getresponse()
        body = response.read(BODY_LIMIT)
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, TLS, a broken answer
        raise NoAnswerError(f"no answer from {check.method} {check.path}: {type(exc).__name__}") from exc
    finally:
        connection.close()
    answer_headers = {name.lower(): value for name, value in response.getheaders()}
    return Answer(response.status, answer_headers, body.decode("utf-8", errors="replace"))


def _signed(session: Session, method: str, url: str, headers: dict[str, str]) -> dict[str, str]:
    """The headers with a SigV4 signature for execute-api, from this function's role."""
    credentials = session.get_credentials()
    if credentials is None:
        raise NoAnswerError("no credentials to sign the request with")
    request = AWSRequest(method=method, url=url, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", session.region_name).add_auth(request)
    return dict(request.headers.items())
