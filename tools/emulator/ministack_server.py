"""MiniStack on loopback, for `make rehearse`: a local CloudFormation that `sam deploy` can target.

Runs in its own environment (.tools/emulator, uv.lock's `emulator` group) with nothing of the
repository's on its path. Every listener binds 127.0.0.1 (its IoT MQTT and SFTP listeners, which
would take 0.0.0.0, are off). Before MiniStack starts, the launcher patches it where it would
otherwise rehearse less than AWS does; each patch below says why. What it did in place of a
service MiniStack lacks goes to a JSON-lines record (--record) that the rehearsal reads:

- Placeholders. MiniStack 1.5.33 has no provisioner for CodeDeploy, Synthetics or composite
  alarms and refuses a template that declares them. Each gets a handler that creates nothing and
  records the properties as CloudFormation resolved them, and refuses a name its type already
  holds, as the service's CloudFormation handler does.
- CodeDeploy, as the `live` alias's `CodeDeployLambdaAliasUpdate` update policy calls it (below):
  the hooks run as deployed in MiniStack's Lambda and report to a CodeDeploy endpoint added to
  MiniStack's own router, which records each report.
- The HTTP API's routes. MiniStack ignores an `AWS::ApiGatewayV2::Api`'s `Body`, where SAM writes
  the routes, and names an endpoint (`{api}.execute-api.127.0.0.1`) that does not resolve here; the
  launcher imports the routes and gives the API its path-style URL on this port.
- SAM gets the stack's parameter values; a nested stack's update keeps its resources' attributes;
  metric-math alarms are stored; capabilities are checked; a taken dashboard name fails the create.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import string
import sys
import threading
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

# What MiniStack cannot provision: accepted, recorded, not created; the property that names each.
NOT_EMULATED = {
    "AWS::CodeDeploy::Application": "ApplicationName",
    "AWS::CodeDeploy::DeploymentGroup": "DeploymentGroupName",
    "AWS::Synthetics::Canary": "Name",
    "AWS::CloudWatch::CompositeAlarm": "AlarmName",
}
# CodeDeploy waits an hour for a hook's report; nothing reports after Lambda stopped the hook
# (its Timeout), so the emulator waits that long and this much more.
HOOK_GRACE_SECONDS = 10
SUCCEEDED, FAILED = "Succeeded", "Failed"
KEYS = ("codedeploy", "codedeploy")  # MiniStack takes any key; the calls reach it only


class Record:
    """The JSON-lines file the rehearsal reads; one line per thing done, from any thread."""

    def __init__(self, path: Path) -> None:
        self.path, self.lock = path, threading.Lock()

    def write(self, **line: Any) -> None:
        with self.lock, self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, default=str) + "\n")


def placeholder(resource_type: str, record: Record, region: str) -> dict[str, Any]:
    """A MiniStack resource handler that only writes down what it was asked to create."""
    taken: set[str] = set()  # the names of this type that exist, as the service would know them

    def create(logical_id: str, props: dict[str, Any], stack_name: str) -> tuple[str, dict[str, Any]]:
        # What Ref returns on AWS: the resource's name.
        physical_id = str(props.get(NOT_EMULATED[resource_type]) or f"{stack_name}-{logical_id}")
        if physical_id in taken:
            raise ValueError(f"{resource_type} {physical_id} already exists")
        taken.add(physical_id)
        record.write(
            action="create", type=resource_type, logicalId=logical_id, physicalId=physical_id, properties=props
        )
        return physical_id, attributes(physical_id)

    def update(
        physical_id: str, old: dict[str, Any], new: dict[str, Any], stack_name: str
    ) -> tuple[str, dict[str, Any]]:
        record.write(action="update", type=resource_type, logicalId="", physicalId=physical_id, properties=new)
        return physical_id, attributes(physical_id)

    def delete(physical_id: str, props: dict[str, Any]) -> None:
        taken.discard(physical_id)
        record.write(action="delete", type=resource_type, logicalId="", physicalId=physical_id, properties=props)

    def attributes(physical_id: str) -> dict[str, Any]:
        """Fn::GetAtt's answers where a template reads them: an alarm's Arn (the dashboard lists it)."""
        if resource_type != "AWS::CloudWatch::CompositeAlarm":
            return {}
        from ministack.core.responses import get_account_id

        return {"Arn": f"arn:aws:cloudwatch:{region}:{get_account_id()}:alarm:{physical_id}"}

    return {"create": create, "update": update, "delete": delete}


# --- CodeDeploy -------------------------------------------------------------------------------


class CodeDeploy:
    """A Lambda deployment as CodeDeploy runs one for CloudFormation ("UpdatePolicy attribute",
    CodeDeployLambdaAliasUpdate; AWS SAM, "Deploying serverless applications gradually"): invoke the
    BeforeAllowTraffic hook asynchronously with {DeploymentId, LifecycleEventHookExecutionId}, wait
    for its PutLifecycleEventHookExecutionStatus; on Succeeded move the alias, then the same with
    the AfterAllowTraffic hook; a Failed (or no report) moves the alias back and fails the
    deployment, so the alias update fails and the stack update rolls back. Traffic moves at once
    whatever the deployment configuration, and the deployment group's alarms are not watched."""

    def __init__(self, record: Record, endpoint: str, region: str) -> None:
        self.record, self.endpoint, self.region = record, endpoint, region
        self.lock = threading.Lock()
        self.waiting: dict[str, tuple[str, threading.Event]] = {}  # execution id -> (deployment id, reported)
        self.reported: dict[str, str] = {}  # execution id -> its status, once decided

    def deploy(
        self,
        policy: dict[str, Any],
        old: dict[str, Any],
        new: dict[str, Any],
        move: Callable[[dict[str, Any], dict[str, Any]], Any],
    ) -> Any:
        """Move the alias from `old` to `new` (its properties) through the hooks; what `move` returned."""
        deployment_id = "d-" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(9))
        self.record.write(
            type="CodeDeploy::Deployment",
            action="start",
            deploymentId=deployment_id,
            application=policy.get("ApplicationName"),
            deploymentGroup=policy.get("DeploymentGroupName"),
            alias=f"{new.get('FunctionName')}:{new.get('Name')}",
            fromVersion=old.get("FunctionVersion"),
            toVersion=new.get("FunctionVersion"),
        )
        before, after = policy.get("BeforeAllowTrafficHook"), policy.get("AfterAllowTrafficHook")
        if before and (status := self.run_hook(deployment_id, "BeforeAllowTraffic", before)) != SUCCEEDED:
            self.fail(deployment_id, f"the BeforeAllowTraffic hook {before} reported {status}")
        moved = move(old, new)
        if after and (status := self.run_hook(deployment_id, "AfterAllowTraffic", after)) != SUCCEEDED:
            move(new, old)
            self.fail(deployment_id, f"the AfterAllowTraffic hook {after} reported {status}; the alias is back")
        self.record.write(type="CodeDeploy::Deployment", action=SUCCEEDED, deploymentId=deployment_id)
        return moved

    def fail(self, deployment_id: str, reason: str) -> None:
        self.record.write(type="CodeDeploy::Deployment", action=FAILED, deploymentId=deployment_id, reason=reason)
        raise ValueError(f"CodeDeploy deployment {deployment_id} failed: {reason}")

    def run_hook(self, deployment_id: str, lifecycle_event: str, function: str) -> str:
        """Invoke the hook as CodeDeploy does (Event), through MiniStack's Lambda API; the status it reports."""
        import boto3  # MiniStack's own dependency; loaded when a deployment first needs it

        execution_id = secrets.token_urlsafe(32)
        reported = threading.Event()
        with self.lock:
            self.waiting[execution_id] = (deployment_id, reported)
        session = boto3.Session(aws_access_key_id=KEYS[0], aws_secret_access_key=KEYS[1])
        client = session.client("lambda", endpoint_url=self.endpoint, region_name=self.region)
        timeout = client.get_function_configuration(FunctionName=function)["Timeout"] + HOOK_GRACE_SECONDS
        self.record.write(
            type="CodeDeploy::LifecycleEvent",
            action="invoke",
            deploymentId=deployment_id,
            lifecycleEvent=lifecycle_event,
            hookExecutionId=execution_id,
            function=function,
        )
        event = {"DeploymentId": deployment_id, "LifecycleEventHookExecutionId": execution_id}
        client.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(event))
        reported.wait(timeout)
        with self.lock:
            if execution_id in self.reported:
                return self.reported[execution_id]
            self.reported[execution_id] = FAILED  # a report after this one is refused, as CodeDeploy does
        self.record.write(
            type="CodeDeploy::LifecycleEvent",
            action="timeout",
            deploymentId=deployment_id,
            hookExecutionId=execution_id,
        )
        return f"nothing within {timeout} s"

    async def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes, query_params: dict[str, Any]
    ) -> tuple[int, dict[str, str], bytes]:
        """CodeDeploy's API as the hooks call it (JSON 1.1): PutLifecycleEventHookExecutionStatus only."""
        operation = headers.get("x-amz-target", "").rpartition(".")[2]
        if operation != "PutLifecycleEventHookExecutionStatus":
            return _error("UnknownOperationException", f"the emulated CodeDeploy has no {operation or 'operation'}")
        request = json.loads(body or b"{}")  # botocore's JSON
        deployment_id = request.get("deploymentId")
        execution_id = request.get("lifecycleEventHookExecutionId")
        status = request.get("status")
        refused = None
        with self.lock:
            waiting = self.waiting.get(execution_id)
            if waiting is None or waiting[0] != deployment_id:
                refused = ("InvalidLifecycleEventHookExecutionIdException", "no such hook execution in this deployment")
            elif execution_id in self.reported:
                refused = ("LifecycleEventAlreadyCompletedException", "the lifecycle event already has a status")
            elif status not in (SUCCEEDED, FAILED):
                refused = (
                    "InvalidLifecycleEventHookExecutionStatusException",
                    f"a hook reports {SUCCEEDED} or {FAILED}",
                )
            else:
                self.reported[execution_id] = status
                waiting[1].set()
        self.record.write(
            type="CodeDeploy::LifecycleEvent",
            action="report",
            deploymentId=deployment_id,
            hookExecutionId=execution_id,
            status=status,
            refused=refused[0] if refused else None,
        )
        if refused:
            return _error(*refused)
        return (
            200,
            {"Content-Type": "application/x-amz-json-1.1"},
            json.dumps({"lifecycleEventHookExecutionId": execution_id}).encode(),
        )


def _error(code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    return (
        400,
        {"Content-Type": "application/x-amz-json-1.1"},
        json.dumps({"__type": code, "message": message}).encode(),
    )


def deploy_alias_updates_through_codedeploy(codedeploy: CodeDeploy) -> None:
    """An alias with a CodeDeployLambdaAliasUpdate policy moves to a new version through CodeDeploy.

    MiniStack stores UpdatePolicy and ignores it. The alias's update handler gets the resource's
    properties only, so the launcher notes the template each stack operation deploys and reads
    the policy there, its Refs (the hooks, the application and group) from the stack's resources.
    A stack's create (no deployment on AWS either), an update that keeps the version, and a
    rollback move the alias directly. Two more corrections follow from it:

    - The Refs in UpdatePolicy are dependencies. SAM has a hook read the version it checks from
      `!Ref Function.Version`, "the version that is currently being deployed" (SAM's
      docs/safe_lambda_deployments.rst; aws/serverless-application-model#230), which holds on AWS
      because the hooks the alias's policy names are updated before the alias. MiniStack orders
      by Properties and DependsOn only: it updated the alias first, and the pre-traffic hook
      checked the version being replaced.
    - The deployment waits for hooks that call back into MiniStack, so the alias is provisioned on
      a worker thread, as MiniStack does for custom resources and wait conditions.
    """
    from ministack.services.cloudformation import _stacks, changesets, engine, handlers, provisioners, stacks

    deploying: ContextVar[tuple[str, dict[str, Any]]] = ContextVar("deploying")
    deploy_stack = stacks._deploy_stack_async

    async def deploy_stack_noting_its_template(
        stack_name: str, stack_id: str, template: dict[str, Any], *rest: Any, **named: Any
    ) -> Any:
        deploying.set((stack_name, template))
        return await deploy_stack(stack_name, stack_id, template, *rest, **named)

    changesets._deploy_stack_async = handlers._deploy_stack_async = deploy_stack_noting_its_template

    extract = engine._extract_deps

    def dependencies_with_update_policy(resource: dict[str, Any], names: set[str]) -> set[str]:
        found: set[str] = extract(resource, names)
        found.update(
            name for name, _ in engine._intrinsic_references(resource.get("UpdatePolicy", {})) if name in names
        )
        return found

    engine._extract_deps = stacks._extract_deps = dependencies_with_update_policy

    on_worker_thread = stacks._runs_on_worker_thread
    stacks._runs_on_worker_thread = lambda resource_type: (
        resource_type == "AWS::Lambda::Alias" or on_worker_thread(resource_type)
    )

    def policy(stack_name: str, logical_id: str | None) -> dict[str, Any] | None:
        noted = deploying.get(None)
        if noted is None or noted[0] != stack_name or logical_id is None:
            return None
        definition = noted[1].get("Resources", {}).get(logical_id, {})
        found = definition.get("UpdatePolicy", {}).get("CodeDeployLambdaAliasUpdate")
        if not found:
            return None
        resources = _stacks[stack_name]["_resources"]

        def resolved(value: Any) -> Any:
            if isinstance(value, dict) and set(value) == {"Ref"}:
                return resources[value["Ref"]]["PhysicalResourceId"]
            return value

        return {name: resolved(value) for name, value in found.items()}

    alias = provisioners._RESOURCE_HANDLERS["AWS::Lambda::Alias"]
    update = alias["update"]

    def update_through_codedeploy(
        physical_id: str, old: dict[str, Any], new: dict[str, Any], stack_name: str, logical_id: str | None = None
    ) -> Any:
        def move(before: dict[str, Any], after: dict[str, Any]) -> Any:
            return update(physical_id, before, after, stack_name, logical_id)

        found = policy(stack_name, logical_id)
        rolling_back = str(_stacks[stack_name].get("StackStatus", "")).endswith("ROLLBACK_IN_PROGRESS")
        if found is None or rolling_back or old.get("FunctionVersion") == new.get("FunctionVersion"):
            return move(old, new)
        return codedeploy.deploy(found, old, new, move)

    alias["update"] = update_through_codedeploy


def serve_codedeploy(codedeploy: CodeDeploy) -> None:
    """Calls signed for `codedeploy` reach the emulated CodeDeploy through MiniStack's own router."""
    from ministack import app

    app.SERVICE_HANDLERS["codedeploy"] = codedeploy.handle


# --- the HTTP API -------------------------------------------------------------------------------


def route_http_apis_from_their_body(endpoint: str) -> None:
    """An HTTP API created or updated with a `Body` gets its routes and integrations from it, as
    API Gateway imports an OpenAPI definition (an update re-imports, as PutApi's overwrite does),
    and an endpoint on this port: MiniStack's path-style URL with the stage, where AWS's is
    https://{api}.execute-api.{region}.amazonaws.com and serves the $default stage at its root."""
    from ministack.services import apigateway
    from ministack.services.cloudformation import provisioners

    api = provisioners._RESOURCE_HANDLERS["AWS::ApiGatewayV2::Api"]
    create, update = api["create"], api["update"]

    def served(created: tuple[str, dict[str, Any]], props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        api_id, attributes = created
        record = apigateway._apis[api_id]
        record["apiEndpoint"] = f"{endpoint}/_aws/execute-api/{api_id}/$default"
        if isinstance(props.get("Body"), dict):
            import_routes(api_id, props["Body"])
        return api_id, {**attributes, "ApiEndpoint": record["apiEndpoint"]}

    def create_with_routes(logical_id: str, props: dict[str, Any], stack_name: str) -> tuple[str, dict[str, Any]]:
        return served(create(logical_id, props, stack_name), props)

    def update_with_routes(
        physical_id: str, old: dict[str, Any], new: dict[str, Any], stack_name: str, logical_id: str | None = None
    ) -> tuple[str, dict[str, Any]]:
        return served(update(physical_id, old, new, stack_name, logical_id), new)

    api["create"], api["update"] = create_with_routes, update_with_routes


def import_routes(api_id: str, body: dict[str, Any]) -> None:
    """A route per path and method of the OpenAPI document SAM writes, each with its integration
    (x-amazon-apigateway-integration); a path `/$default` is the $default route, the method
    x-amazon-apigateway-any-method is ANY, a security scheme of type awsSigv4 is AWS_IAM."""
    from ministack.services import apigateway

    schemes = body.get("components", {}).get("securitySchemes", {})
    sigv4 = {name for name, scheme in schemes.items() if scheme.get("x-amazon-apigateway-authtype") == "awsSigv4"}
    apigateway._routes[api_id], apigateway._integrations[api_id] = {}, {}
    for path, operations in body.get("paths", {}).items():
        for method, operation in operations.items():
            integration = operation.get("x-amazon-apigateway-integration") if isinstance(operation, dict) else None
            if not integration:
                continue
            _, _, created = apigateway._create_integration(
                api_id,
                {
                    "integrationType": integration["type"].upper(),
                    "integrationUri": integration["uri"],
                    "integrationMethod": integration.get("httpMethod", "POST"),
                    "payloadFormatVersion": integration.get("payloadFormatVersion", "1.0"),
                },
            )
            verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            signed = any(name in sigv4 for requirement in operation.get("security", []) for name in requirement)
            route = {
                "routeKey": "$default" if path == "/$default" else f"{verb} {path}",
                "target": f"integrations/{json.loads(created)['integrationId']}",
                "authorizationType": "AWS_IAM" if signed else "NONE",
            }
            apigateway._create_route(api_id, route)


# --- CloudFormation -----------------------------------------------------------------------------


def pass_parameter_values_to_sam() -> None:
    """SAM gets the parameter values the same operation's AWS::LanguageExtensions step got.

    MiniStack calls the SAM translator with none, so SAM resolved the `!Ref`s it reads itself
    (AutoPublishCodeSha256, DeploymentPreference Type) to the parameters' defaults, and a deploy's
    VersionFingerprint or DeploymentStrategy never reached the transformed template. CloudFormation
    hands a transform the stack's values ("templateParameterValues"; "Perform custom processing
    on CloudFormation templates with template macros")."""
    import samtranslator.translator.transform as sam
    from ministack.services.cloudformation import language_extensions

    current = threading.local()
    expand, translate = language_extensions.apply, sam.transform

    def apply(template: dict[str, Any], parameters: dict[str, Any]) -> Any:
        current.parameters = dict(parameters)
        return expand(template, parameters)

    def transform(template: dict[str, Any], parameter_values: dict[str, Any], *rest: Any, **named: Any) -> Any:
        values = {**getattr(current, "parameters", {}), **(parameter_values or {})}
        return translate(template, values, *rest, **named)

    language_extensions.apply = apply
    sam.transform = transform


def keep_nested_resource_attributes() -> None:
    """A nested stack's update hands each resource its stored attributes, as a top-level update does.

    MiniStack's nested path handed them none, so the next `Fn::GetAtt` on an unchanged child
    resource failed the parent's update (UPDATE_ROLLBACK_FAILED)."""
    from ministack.services.cloudformation import _stacks, provisioners

    update = provisioners._update_resource  # the top-level path bound its own reference at import

    def update_resource(
        resource_type: str,
        physical_id: str,
        old: dict[str, Any],
        new: dict[str, Any],
        stack_name: str,
        logical_id: str | None = None,
        old_attrs: dict[str, Any] | None = None,
    ) -> Any:
        if old_attrs is None and logical_id:
            stored = (_stacks.get(stack_name) or {}).get("_resources", {}).get(logical_id) or {}
            old_attrs = stored.get("Attributes")
        return update(resource_type, physical_id, old, new, stack_name, logical_id, old_attrs)

    provisioners._update_resource = update_resource


def store_metric_math_alarms() -> None:
    """An alarm on metric math (`Metrics`) is stored as DescribeAlarms shows one, not evaluated.

    MiniStack refuses it ("metric math is not supported") and evaluates single-metric alarms only;
    the gating alarm and the faults alarm add two metrics."""
    from ministack.services.cloudformation import provisioners

    record = provisioners._cw_metric_alarm_record

    def metric_math_record(name: str, props: dict[str, Any]) -> dict[str, Any]:
        metrics = props.get("Metrics")
        if not metrics:
            return dict(record(name, props))
        single = {key: value for key, value in props.items() if key != "Metrics"}
        alarm = dict(record(name, {**single, "MetricName": "-", "Namespace": "-"}))
        for key in ("MetricName", "Namespace", "Statistic", "Period", "Dimensions"):
            alarm.pop(key, None)
        return {**alarm, "Metrics": metrics}

    provisioners._cw_metric_alarm_record = metric_math_record


def check_capabilities() -> None:
    """A change set's IAM resources need CAPABILITY_IAM (or _NAMED_IAM), a nested stack's the parent's.

    MiniStack implements both checks but runs them under AUTH=true only, which also enforces IAM
    on every call the rehearsal's dummy credentials make. AWS always checks."""
    from ministack.services.cloudformation import handlers

    handlers._capabilities_enforced = lambda: True


def refuse_taken_dashboard_names() -> None:
    """A dashboard resource whose name another dashboard holds fails its create.

    CloudWatch's PutDashboard replaces a dashboard of the same name (CloudWatch API reference,
    "PutDashboard"), but CloudFormation's AWS::CloudWatch::Dashboard handler fails the create of
    a taken name ("Dashboard '<name>' already exists"), and a replacement is created before the
    dashboard it replaces is deleted ("Name type", AWS CloudFormation user guide). MiniStack's
    handler calls PutDashboard, so an upgrade that moves a named dashboard would pass here only."""
    import ministack.services.cloudwatch as cloudwatch
    from ministack.services.cloudformation import provisioners

    handlers = provisioners._RESOURCE_HANDLERS["AWS::CloudWatch::Dashboard"]
    create = handlers["create"]

    def create_unless_taken(logical_id: str, props: dict[str, Any], stack_name: str) -> Any:
        name = props.get("DashboardName")
        if name and name in cloudwatch._dashboards:
            raise ValueError(f"Dashboard '{name}' already exists")
        return create(logical_id, props, stack_name)

    handlers["create"] = create_unless_taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--region", default="eu-west-1")
    parser.add_argument("--record", type=Path, required=True, help="JSON lines: what was done in place of a service")
    parser.add_argument("--state-dir", type=Path, required=True, help="where MiniStack keeps its files")
    args = parser.parse_args()
    args.state_dir.mkdir(parents=True, exist_ok=True)
    endpoint = f"http://127.0.0.1:{args.port}"
    os.environ.update(
        {
            "BIND_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(args.port),
            "MINISTACK_HOST": "127.0.0.1",
            "MINISTACK_REGION": args.region,
            "IOT_MTLS_ENABLED": "0",
            "SFTP_ENABLED": "0",
            "S3_PERSIST": "0",
            "S3_DATA_DIR": str(args.state_dir / "s3"),
            "TMPDIR": str(args.state_dir),
            "LOG_LEVEL": "WARNING",
        }
    )
    from ministack.services.cloudformation import provisioners  # after the environment: it reads it at import

    record = Record(args.record)
    for resource_type in NOT_EMULATED:
        provisioners._RESOURCE_HANDLERS[resource_type] = placeholder(resource_type, record, args.region)
    codedeploy = CodeDeploy(record, endpoint, args.region)
    deploy_alias_updates_through_codedeploy(codedeploy)
    serve_codedeploy(codedeploy)
    route_http_apis_from_their_body(endpoint)
    pass_parameter_values_to_sam()
    keep_nested_resource_attributes()
    store_metric_math_alarms()
    check_capabilities()
    refuse_taken_dashboard_names()
    from ministack.app import main as serve

    sys.argv = [sys.argv[0]]
    serve()


if __name__ == "__main__":
    main()
