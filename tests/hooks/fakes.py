"""Loopback stand-ins for everything the deploy hooks reach, so that they run unmodified.

The hooks' own boto3 clients find these through the SDK's standard endpoint variables, with dummy
credentials: Lambda's Invoke API and the stack's HTTP API answer with the version being deployed
(the real API handler, or a broken variant); CodeDeploy records the reports; CloudFormation and
API Gateway answer the post-traffic hook's look-up of the HTTP API's endpoint.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local_api.events import HttpReply, build_event, gateway_error, to_reply
from local_api.lambda_runtime import LocalLambdaContext
from local_api.template import matching_route
from tests.conftest import load_event, template_routes
from tests.loopback import Loopback, NeverAnswers, Request, json_error

HOOK_EVENT = load_event("codedeploy-hook")  # what CodeDeploy sends either hook
REGION = "eu-west-1"
CREDENTIALS = Credentials("AKIAHOOKTESTS0000000", "hook-tests-secret")
VERSION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:petsage-api-dev-health:7"
STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/petsage-api-dev/6f1c2a80-1b2c-11f1-9a5b-0a1b2c3d4e5f"
API_ID = "abc123defg"
HOOK_ROLE = {"accountId": "123456789012", "userArn": "arn:aws:sts::123456789012:assumed-role/post-traffic-hook/x"}
SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>\w+)/\d{8}/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)
INVOKE_PATH = re.compile(r"/2015-03-31/functions/(?P<name>[^/]+)/invocations")

Version = Callable[[Any], Any]  # the deployed code as Lambda runs it: event -> what it returns; raising is an error


def good_version(event: Any) -> Any:
    """The real API handler, as Lambda runs the published version."""
    from handler import lambda_handler

    return lambda_handler(event, LocalLambdaContext(function_name="HealthFunction"))


def broken_on(route: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Version:
    """The good version with one route's answers (`GET /api/v1/health`) changed; the rest untouched."""

    def version(event: Any) -> Any:
        answer = good_version(event)
        http = event.get("requestContext", {}).get("http", {}) if isinstance(event, dict) else {}
        return change(answer) if f"{http.get('method')} {http.get('path')}" == route else answer

    return version


def hangs(event: Any) -> Any:
    """A version that never answers: stuck on a dependency, or in a loop."""
    raise NeverAnswers


def reported(status: str) -> list[dict[str, str]]:
    """CodeDeploy's record of one report of `status` for HOOK_EVENT's lifecycle event."""
    execution = HOOK_EVENT["LifecycleEventHookExecutionId"]
    return [{"deploymentId": HOOK_EVENT["DeploymentId"], "lifecycleEventHookExecutionId": execution, "status": status}]


def signed_by(credentials: Credentials, service: str, url: str, method: str, headers: Message, body: bytes) -> bool:
    """Whether the request carries a valid SigV4 signature by `credentials` for `service` in REGION."""
    match = SIGV4.fullmatch(headers.get("Authorization", ""))
    if match is None or (match["key"], match["region"], match["service"]) != (credentials.access_key, REGION, service):
        return False
    signed = {name: headers[name] for name in match["signed"].split(";") if name in headers}
    request = AWSRequest(method=method, url=url, headers=signed, data=body)
    request.context["timestamp"] = headers.get("X-Amz-Date", "")
    auth = SigV4Auth(credentials, service, REGION)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    return hmac.compare_digest(expected, match["signature"])


@dataclass
class Deployment:
    """A stack mid-deploy: the version being deployed behind Lambda's Invoke API and the HTTP API,
    and CodeDeploy waiting for the hook's report. Tests change the fields before running a hook."""

    version: Version = good_version
    executed_version: str | None = None  # what Lambda says it ran; None: the version the ARN names
    throttles: int = 0  # Lambda refuses this many invokes (429) before it takes one
    report_error: str | None = None  # CodeDeploy refuses the report with this error code
    events: list[Any] = field(default_factory=list)  # every event the version got, invoked or through the API
    invoked: list[str] = field(default_factory=list)  # the function name of each Invoke that reached it
    reports: list[dict[str, str]] = field(default_factory=list)  # every PutLifecycleEventHookExecutionStatus
    aws: Loopback = field(init=False)
    api: Loopback = field(init=False)

    def __post_init__(self) -> None:
        self.aws, self.api = Loopback(self._aws), Loopback(self._http_api)
        self._services = {"lambda": self._invoke, "codedeploy": self._report, "apigateway": self._get_api}
        self._services["cloudformation"] = self._describe_stack_resource

    def environment(self, nowhere: str) -> dict[str, str]:
        """The hooks' Lambda environment, every AWS endpoint on loopback (`nowhere` for any other
        service, so that no call can leave the machine); both hooks' own variables set."""
        endpoints = ("LAMBDA", "CODEDEPLOY", "CLOUDFORMATION", "APIGATEWAYV2")
        return {
            "AWS_ENDPOINT_URL": nowhere,
            **{f"AWS_ENDPOINT_URL_{service}": self.aws.url for service in endpoints},
            "AWS_ACCESS_KEY_ID": CREDENTIALS.access_key,
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS.secret_key,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "TARGET_VERSION_ARN": VERSION_ARN,
            "STACK_ID": STACK_ID,
        }

    def close(self) -> None:
        self.aws.close()
        self.api.close()

    # --- AWS: each call dispatched on the service its signature is for --------------------------------

    def _aws(self, request: Request) -> HttpReply:
        match = SIGV4.match(request.headers.get("Authorization", ""))
        service = match["service"] if match else ""
        url = self.aws.url + request.target
        if not signed_by(CREDENTIALS, service, url, request.method, request.headers, request.body):
            return json_error(403, "InvalidSignatureException", f"not signed for {REGION} by the test credentials")
        answer = self._services.get(service)
        return answer(request) if answer else json_error(400, "UnknownServiceException", service)

    def _invoke(self, request: Request) -> HttpReply:
        """Lambda Invoke (rest-json): the version's return value, or its error as Lambda reports one."""
        match = INVOKE_PATH.fullmatch(request.target)
        name = unquote(match["name"]) if match else ""
        if name.rpartition(":")[0] != VERSION_ARN.rpartition(":")[0]:
            return json_error(404, "ResourceNotFoundException", f"Function not found: {name}")
        if self.throttles:
            self.throttles -= 1
            return json_error(429, "TooManyRequestsException", "Rate Exceeded.")
        event = json.loads(request.body)
        self.events.append(event)
        self.invoked.append(name)
        headers = [("Content-Type", "application/json")]
        headers.append(("X-Amz-Executed-Version", self.executed_version or name.rpartition(":")[2]))
        try:
            result = self.version(event)
        except NeverAnswers:
            raise
        except Exception as exc:  # noqa: BLE001 - the function raised: Lambda's Unhandled function error
            stack = traceback.format_tb(exc.__traceback__)
            result = {"errorMessage": str(exc), "errorType": type(exc).__name__, "stackTrace": stack}
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        return HttpReply(200, headers, json.dumps(result).encode())

    def _report(self, request: Request) -> HttpReply:
        """CodeDeploy PutLifecycleEventHookExecutionStatus (JSON 1.1): recorded, then answered or refused."""
        if request.headers.get("X-Amz-Target") != "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus":
            return json_error(400, "UnknownOperationException", str(request.headers.get("X-Amz-Target")))
        report = json.loads(request.body)
        self.reports.append(report)
        if self.report_error:
            return json_error(400, self.report_error, "refused by the test")
        body = json.dumps({"lifecycleEventHookExecutionId": report["lifecycleEventHookExecutionId"]})
        return HttpReply(200, [("Content-Type", "application/x-amz-json-1.1")], body.encode())

    def _describe_stack_resource(self, request: Request) -> HttpReply:
        """CloudFormation DescribeStackResource (query protocol): the stack's HttpApi and its API id."""
        form = {name: values[0] for name, values in parse_qs(request.body.decode()).items()}
        wanted = {"Action": "DescribeStackResource", "StackName": STACK_ID, "LogicalResourceId": "HttpApi"}
        if {name: form.get(name) for name in wanted} != wanted:
            error = "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code></Error></ErrorResponse>"
            return HttpReply(400, [("Content-Type", "text/xml")], error.encode())
        detail = (
            f"<LogicalResourceId>HttpApi</LogicalResourceId><PhysicalResourceId>{API_ID}</PhysicalResourceId>"
            "<ResourceType>AWS::ApiGatewayV2::Api</ResourceType><ResourceStatus>UPDATE_COMPLETE</ResourceStatus>"
        )
        body = (
            '<DescribeStackResourceResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
            f"<DescribeStackResourceResult><StackResourceDetail>{detail}</StackResourceDetail>"
            "</DescribeStackResourceResult></DescribeStackResourceResponse>"
        )
        return HttpReply(200, [("Content-Type", "text/xml")], body.encode())

    def _get_api(self, request: Request) -> HttpReply:
        """API Gateway v2 GetApi (rest-json): the HTTP API's endpoint, here the loopback one."""
        if request.target != f"/v2/apis/{API_ID}":
            return json_error(404, "NotFoundException", "Invalid API identifier specified")
        api = {"apiEndpoint": self.api.url, "apiId": API_ID, "name": "petsage-api-dev", "protocolType": "HTTP"}
        return HttpReply(200, [("Content-Type", "application/json")], json.dumps(api).encode())

    # --- the stack's HTTP API: template.yaml's routes, payload 2.0, AWS_IAM on the details route -------

    def _http_api(self, request: Request) -> HttpReply:
        route = matching_route(template_routes(), request.method, request.target.partition("?")[0])
        if route is None:
            return gateway_error(404, "Not Found")
        identity = None
        if route.authorizer == "AWS_IAM":
            url = self.api.url + request.target
            if not signed_by(CREDENTIALS, "execute-api", url, request.method, request.headers, request.body):
                return gateway_error(403, "Forbidden")
            identity = HOOK_ROLE
        event = build_event(
            method=request.method,
            target=request.target,
            headers=request.headers.items(),
            body=request.body,
            source_ip="127.0.0.1",
            route_key=str(route),
            api_id=API_ID,
            iam_identity=identity,
        )
        self.events.append(event)
        try:
            return to_reply(self.version(event))
        except NeverAnswers:
            raise
        except Exception:  # noqa: BLE001 - the function raised: API Gateway answers for it
            return gateway_error(500, "Internal Server Error")
