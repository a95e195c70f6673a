"""HTTP request -> API Gateway HTTP API payload 2.0 event, and proxy response -> HTTP reply.

Written here rather than borrowed: SAM CLI builds the same event inside `sam local
start-api`, but only behind its container runner, and that code is not a public API.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded")
# Who a signed request is, locally: the signature itself is not verified (docs/local-development.md).
LOCAL_IAM_IDENTITY: dict[str, Any] = {
    "accessKey": "AKIALOCALDEVELOPER00",
    "accountId": "123456789012",
    "callerId": "AIDALOCALDEVELOPER00",
    "cognitoIdentity": None,
    "principalOrgId": None,
    "userArn": "arn:aws:iam::123456789012:user/local-developer",
    "userId": "AIDALOCALDEVELOPER00",
}


@dataclass
class HttpReply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def build_event(
    *,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    source_ip: str,
    route_key: str,
    api_id: str = "local",
    iam_identity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The event API Gateway would send for this request (payload format 2.0).

    `iam_identity` is what an AWS_IAM route's authorizer found (requestContext.authorizer.iam).
    """
    raw_path, _, raw_query = target.partition("?")
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        joined[lowered] = f"{joined[lowered]},{value}" if lowered in joined else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value

    now = time.time()
    request_id = base64.b64encode(uuid.uuid4().bytes[:10]).decode()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": joined,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api_id,
            "domainName": joined.get("host", "localhost"),
            "domainPrefix": api_id,
            "http": {
                "method": method,
                "path": unquote(raw_path),
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if iam_identity is not None:
        event["requestContext"]["authorizer"] = {"iam": iam_identity}
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if body:
        content_type = joined.get("content-type", "")
        if content_type.startswith(_TEXT_TYPES):
            event["body"] = body.decode("utf-8", errors="replace")
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


def to_reply(result: Any) -> HttpReply:
    """Map what the function returned to the HTTP reply, as API Gateway does for payload 2.0."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # A payload 2.0 integration infers a 200 JSON response from anything else.
        text = result if isinstance(result, str) else json.dumps(result)
        return HttpReply(200, [("Content-Type", "application/json")], text.encode())
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    headers += [("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or []]
    raw_body = result.get("body") or ""
    body = base64.b64decode(raw_body) if result.get("isBase64Encoded") else str(raw_body).encode()
    return HttpReply(int(result["statusCode"]), headers, body)


def gateway_error(status: int, message: str) -> HttpReply:
    """An error API Gateway answers itself, without invoking the function."""
    return HttpReply(
        status, [("Content-Type", "application/json")], json.dumps({"message": message}, separators=(",", ":")).encode()
    )
