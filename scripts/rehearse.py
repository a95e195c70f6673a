"""`make rehearse`: the deploy path end to end, on a local AWS emulator, before a real account sees it.

It starts MiniStack on 127.0.0.1 (tools/emulator/ministack_server.py, in .tools/emulator), copies
the repository into a scratch directory, and runs the real `make deploy` there six times with
`AWS_ENDPOINT_URL` pointing at the emulator and dummy credentials:

1. create the dev stack (no deployment: CodeDeploy runs none on a create);
2. change the function's code: a new version is published, CodeDeploy runs the pre-traffic hook
   against it, moves `live` to it, runs the post-traffic hook through the API URL; both Succeeded;
3. change only a literal of the function in template.yaml (MemorySize): the same, again;
4. change only the deployment strategy: no new version, no deployment, `live` stays;
5. change only the operations (how long canary runs are kept): the monitoring stack updates,
   the function does not;
6. a bad version, whose liveness answers 500: the pre-traffic hook reports Failed (once), the
   deployment fails, `make deploy` fails, the stack rolls back, `live` stays on the previous
   version, which still answers.

With `--upgrade-from REV` (`make rehearse UPGRADE_FROM=REV`), the stack is first created by REV's
own `make deploy` (the release deployed today, say), so the first step is that stack's upgrade.

After each it checks that the stack and its nested operations stacks are complete (rolled back for
the bad version), that the outputs `make deploy` printed exist, which versions exist and where
`live` points, what the emulated CodeDeploy did (each hook invoked, each report, exactly one per
hook execution), and it invokes `live` through the emulated Lambda API with the committed liveness
event and GETs liveness on the API's endpoint. Progress goes to stderr; the summary table to stdout.
docs/deploying.md says what the emulator creates, skips, and cannot check.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess  # runs make and the emulator with fixed argv, no shell  # nosec B404
import sys
import tarfile
import tempfile
import time
import tomllib
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_api.template import REPO_ROOT, load_template, nested_templates

EMULATOR_PYTHON = REPO_ROOT / ".tools" / "emulator" / "bin" / "python"
EMULATOR_SERVER = REPO_ROOT / "tools" / "emulator" / "ministack_server.py"
CONFIG_ENV = "dev"
FUNCTION = "HealthFunction"
LIVENESS_BODY = {"status": "ok", "message": "PetSage API is purring!"}
LIVENESS_EVENT = "events/health.json"
# The environments the scratch copy borrows instead of installing its own.
BORROWED = (".venv", ".tools")
# One deploy through sam build, a change set and both hooks takes ~20 s here; a stuck one is a
# failure (a hook that never reports holds its deployment for the hook's 120 s Timeout and more).
DEPLOY_TIMEOUT_SECONDS = 180
MEMORY_SIZE_BEFORE, MEMORY_SIZE_AFTER = "MemorySize: 1769", "MemorySize: 1792"
STRATEGY_ONLY = "DeploymentStrategy=Canary10Percent5Minutes"
OPERATIONS_ONLY = "CanaryArtifactRetentionDays=14"
# The bad version: liveness raises, which the resolver answers as a JSON 500.
LIVENESS_SOURCE = "functions/api/petsage_api/health/router.py"
LIVENESS_GOOD = "    return HealthCheckResponse()\n"
LIVENESS_BROKEN = '    raise RuntimeError("rehearsal: a version whose liveness answers 500")\n'
HOOKS = {"BeforeAllowTraffic": "pre-traffic", "AfterAllowTraffic": "post-traffic"}
SUCCEEDED, FAILED = "Succeeded", "Failed"
# The emulator accepts any key; these reach nothing else (AWS_ENDPOINT_URL points every call at it).
EMULATOR_KEYS = ("rehearsal", "rehearsal")


class RehearsalFailedError(Exception):
    """A deploy did not do what a real one must."""


def log(message: str) -> None:
    print(f"rehearse: {message}", file=sys.stderr, flush=True)


# --- the emulator ------------------------------------------------------------------------------


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def listening_addresses(pid: int) -> set[str]:
    """host:port of every TCP socket the process listens on (from /proc, no tool needed)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text(encoding="ascii").splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                address, port = fields[1].split(":")
                found.add(f"{_ip(address)}:{int(port, 16)}")
    return found


def _ip(hexadecimal: str) -> str:
    raw = bytes.fromhex(hexadecimal)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0]
    return host.startswith("127.") or host in ("::1", "::ffff:127.0.0.1")


@contextmanager
def emulator(scratch: Path, region: str) -> Iterator[tuple[str, Path]]:
    """MiniStack on a free loopback port: (endpoint URL, the record of what it did in place of a service)."""
    if not EMULATOR_PYTHON.exists():
        raise RehearsalFailedError(f"no emulator environment at {EMULATOR_PYTHON}: run `make rehearse`")
    port = free_loopback_port()
    record = scratch / "emulated.jsonl"
    record.touch()
    output = (scratch / "emulator.log").open("wb")
    command = [str(EMULATOR_PYTHON), "-I", str(EMULATOR_SERVER), "--port", str(port), "--region", region]
    command += ["--record", str(record), "--state-dir", str(scratch / "emulator")]
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)  # nosec B603
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(endpoint):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RehearsalFailedError(f"the emulator did not start; see {scratch / 'emulator.log'}")
            time.sleep(0.2)
        exposed = {address for address in listening_addresses(process.pid) if not is_loopback(address)}
        if exposed:
            raise RehearsalFailedError(f"the emulator listens beyond loopback: {', '.join(sorted(exposed))}")
        log(f"MiniStack ready at {endpoint} (pid {process.pid}, loopback only)")
        yield endpoint, record
    finally:
        # The whole session: MiniStack runs each function in a worker process of its own.
        with suppress(ProcessLookupError):  # already gone, e.g. when it failed to start
            os.killpg(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        with suppress(ProcessLookupError):  # whatever of the group is still there
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        output.close()


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/_ministack/health", timeout=1):  # loopback  # nosec B310
            return True
    except OSError:
        return False


# --- the scratch repository ----------------------------------------------------------------------


def scratch_copy(destination: Path) -> Path:
    """The repository's files as they are now (tracked and untracked, not ignored), its environments linked."""
    listed = subprocess.run(  # nosec B603 B607
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout
    repo = destination / "repo"
    for name in filter(None, listed.decode().split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)  # mtimes kept: make sees the environments as up to date
    for name in BORROWED:
        (repo / name).symlink_to(REPO_ROOT / name)
    return repo


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    if text.count(old) != 1:
        raise RehearsalFailedError(f"{path.name}: expected {old!r} once, to change it")
    path.write_text(text.replace(old, new), encoding="utf-8")


# --- deploys and what they left ------------------------------------------------------------------


@dataclass
class Outcome:
    step: str
    seconds: float
    stack_status: str
    events: Counter[str]
    versions: list[str]
    live: str
    memory_size: int
    liveness: str
    api: str
    codedeploy: str
    nested: dict[str, str] = field(default_factory=dict)  # logical ID -> status and resource count
    notes: list[str] = field(default_factory=list)


@dataclass
class Deployment:
    """One deployment of the emulated CodeDeploy, from its record: the hooks it invoked, what each reported."""

    from_version: str
    to_version: str
    result: str = "unfinished"
    hooks: list[tuple[str, list[str]]] = field(default_factory=list)  # (lifecycle event, statuses reported)

    def summary(self) -> str:
        hooks = ", ".join(f"{HOOKS[event]} {'+'.join(reports) or 'no report'}" for event, reports in self.hooks)
        return f"{self.from_version} → {self.to_version}: {hooks}; deployment {self.result}"


def deployments(lines: list[dict[str, Any]]) -> list[Deployment]:
    """The deployments the record holds, in order; a hook's reports include refused ones."""
    found: dict[str, Deployment] = {}
    executions: dict[str, list[str]] = {}
    for line in lines:
        if line["type"] == "CodeDeploy::Deployment" and line["action"] == "start":
            found[line["deploymentId"]] = Deployment(line["fromVersion"], line["toVersion"])
        elif line["type"] == "CodeDeploy::Deployment":
            found[line["deploymentId"]].result = line["action"]
        elif line["type"] != "CodeDeploy::LifecycleEvent":
            continue
        elif line["action"] == "invoke":
            executions[line["hookExecutionId"]] = []
            found[line["deploymentId"]].hooks.append((line["lifecycleEvent"], executions[line["hookExecutionId"]]))
        elif line["action"] == "report":
            executions.setdefault(line["hookExecutionId"], []).append(line["status"])
    return list(found.values())


class Rehearsal:
    def __init__(self, repo: Path, endpoint: str, record: Path, region: str, stack: str) -> None:
        import boto3  # only the rehearsal needs the SDK

        self.repo, self.record, self.stack = repo, record, stack
        aws = scratch_aws_files(repo.parent)
        self.environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        self.environment.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": EMULATOR_KEYS[0],
                "AWS_SECRET_ACCESS_KEY": EMULATOR_KEYS[1],
                "AWS_CONFIG_FILE": str(aws / "config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(aws / "credentials"),
                "AWS_EC2_METADATA_DISABLED": "true",
                "SAM_CLI_TELEMETRY": "0",
            }
        )
        self.environment.pop("MAKEFLAGS", None)
        self.environment.pop("MAKELEVEL", None)
        key_id, secret = EMULATOR_KEYS
        session = boto3.Session(aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=region)
        self.cloudformation: Any = session.client("cloudformation", endpoint_url=endpoint)
        self.lambda_: Any = session.client("lambda", endpoint_url=endpoint)
        self.apigateway: Any = session.client("apigatewayv2", endpoint_url=endpoint)
        self.logs: Any = session.client("logs", endpoint_url=endpoint)
        self.endpoint = endpoint

    def deploy(self, step: str, *make_arguments: str, refused: bool = False) -> tuple[float, str]:
        """The Makefile's own deploy target, as a user runs it; the host's architecture, so the
        emulator (which runs functions on this machine's interpreter) can load the wheels. With
        `refused`, it must fail."""
        command = ["make", "deploy", f"CONFIG_ENV={CONFIG_ENV}", f"BUILD_ARCH={host_architecture()}", *make_arguments]
        log(f"{step}: {' '.join(command)}")
        started = time.monotonic()
        try:
            result = subprocess.run(  # nosec B603
                command,
                cwd=self.repo,
                env=self.environment,
                capture_output=True,
                text=True,
                timeout=DEPLOY_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RehearsalFailedError(f"{step}: make deploy took over {DEPLOY_TIMEOUT_SECONDS} s") from None
        seconds = time.monotonic() - started
        (self.repo.parent / f"deploy-{step}.log").write_text(result.stdout + result.stderr, encoding="utf-8")
        if (result.returncode != 0) != refused:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
            raise RehearsalFailedError(f"{step}: make deploy exited {result.returncode}:\n{tail}")
        log(f"{step}: make deploy {'refused' if refused else 'done'} in {seconds:.1f} s")
        return seconds, result.stdout + result.stderr

    def check(self, step: str, seconds: float, printed: str, since: float, refused: bool = False) -> Outcome:
        [stack] = self.cloudformation.describe_stacks(StackName=self.stack)["Stacks"]
        status = stack["StackStatus"]
        if status not in (("UPDATE_ROLLBACK_COMPLETE",) if refused else ("CREATE_COMPLETE", "UPDATE_COMPLETE")):
            raise RehearsalFailedError(f"{step}: stack is {status}")
        if not refused:
            self.published(step, stack, printed)
        function = self.physical_id(FUNCTION)
        versions = [
            entry["Version"]
            for entry in self.lambda_.list_versions_by_function(FunctionName=function)["Versions"]
            if entry["Version"] != "$LATEST"
        ]
        live = self.lambda_.get_alias(FunctionName=function, Name="live")["FunctionVersion"]
        memory = self.lambda_.get_function_configuration(FunctionName=function, Qualifier="live")["MemorySize"]
        events, liveness, nested = self.events_since(since), self.liveness(function), self.nested(step)
        return Outcome(
            step, seconds, status, events, versions, live, memory, liveness, self.through_the_api(), "", nested
        )

    def published(self, step: str, stack: dict[str, Any], printed: str) -> None:
        """The outputs exist and make deploy printed them; the version is named after the fingerprint it printed."""
        expected = set(load_template(self.repo / "template.yaml")["Outputs"])
        outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
        missing = sorted(name for name in expected if not outputs.get(name) or name not in printed)
        if missing:
            raise RehearsalFailedError(f"{step}: outputs missing or not printed by make deploy: {', '.join(missing)}")
        fingerprints = re.findall(r"^VersionFingerprint=([0-9a-f]{64})$", printed, flags=re.MULTILINE)
        expect(len(fingerprints) == 1, f"{step}: make deploy printed no VersionFingerprint")
        version_ids = [
            entry["LogicalResourceId"]
            for entry in self.cloudformation.describe_stack_resources(StackName=self.stack)["StackResources"]
            if entry["ResourceType"] == "AWS::Lambda::Version"
        ]
        # SAM names the version after the fingerprint's first ten characters (AutoPublishCodeSha256).
        expect(
            version_ids == [f"{FUNCTION}Version{fingerprints[0][:10]}"],
            f"{step}: the stack's versions {version_ids} are not named after the fingerprint {fingerprints[0][:10]}",
        )

    def nested(self, step: str) -> dict[str, str]:
        """Each nested stack of the template (the operations applications): complete, and how many resources."""
        found: dict[str, str] = {}
        for logical_id in sorted(nested_templates(self.repo / "template.yaml")):
            child = self.physical_id(logical_id)
            [stack] = self.cloudformation.describe_stacks(StackName=child)["Stacks"]
            status = stack["StackStatus"]
            expect(status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), f"{step}: nested stack {logical_id} is {status}")
            resources = self.cloudformation.describe_stack_resources(StackName=child)["StackResources"]
            found[logical_id] = f"{status} ({len(resources)})"
        return found

    def physical_id(self, logical_id: str) -> str:
        resource = self.cloudformation.describe_stack_resource(StackName=self.stack, LogicalResourceId=logical_id)
        physical: str = resource["StackResourceDetail"]["PhysicalResourceId"]
        return physical

    def events_since(self, since: float) -> Counter[str]:
        counts: Counter[str] = Counter()
        for event in self.cloudformation.describe_stack_events(StackName=self.stack)["StackEvents"]:
            if event["Timestamp"].timestamp() >= since and event["ResourceType"] != "AWS::CloudFormation::Stack":
                counts[event["ResourceStatus"]] += 1
        return counts

    def liveness(self, function: str) -> str:
        """Invoke `live` with the committed API Gateway event: the exact liveness answer, or why not."""
        payload = (self.repo / LIVENESS_EVENT).read_bytes()
        answer = self.lambda_.invoke(FunctionName=function, Qualifier="live", Payload=payload)
        body = answer["Payload"].read()
        if answer.get("FunctionError"):
            raise RehearsalFailedError(f"live answered a function error: {body[:300]!r}")
        response = json.loads(body)
        if response.get("statusCode") != 200 or json.loads(response.get("body", "null")) != LIVENESS_BODY:
            raise RehearsalFailedError(f"live did not answer the liveness contract: {body[:300]!r}")
        return "200, liveness body"

    def through_the_api(self) -> str:
        """GET /api/v1/health on the endpoint GetApi gives, as the post-traffic hook finds it: the
        HTTP API's routes, their integration with `live`, and the version behind it."""
        endpoint = self.apigateway.get_api(ApiId=self.physical_id("HttpApi"))["ApiEndpoint"]
        expect(endpoint.startswith(f"{self.endpoint}/"), f"the API's endpoint {endpoint} is not the emulator's")
        with urllib.request.urlopen(f"{endpoint}/api/v1/health", timeout=10) as response:  # loopback  # nosec B310
            body = json.loads(response.read())
        expect(response.status == 200 and body == LIVENESS_BODY, f"the API URL answered {response.status} {body}")
        return "200, liveness body"

    def logged(self, log_group: str, since: float) -> Counter[str]:
        """What a function wrote to its log group (`log_group`, a logical ID) since `since`, but Lambda's own
        START, END and REPORT lines. MiniStack keeps the text of each line, not Lambda's JSON log format."""
        group = self.physical_id(log_group)
        events = self.logs.filter_log_events(logGroupName=group, startTime=int(since * 1000))["events"]
        lines = (event["message"].strip() for event in events)
        return Counter(line for line in lines if not line.startswith(("START ", "END ", "REPORT ")))

    def recorded(self, start: int = 0) -> list[dict[str, Any]]:
        """What the emulator did in place of the services it lacks, from line `start` of its record."""
        lines = self.record.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines[start:] if line.strip()]

    def deployment(self, outcome: Outcome, start: int, expected: tuple[str, str, list[str]] | None) -> None:
        """The deployments since line `start`: none, or one from and to the versions expected whose
        hooks reported exactly once each, these statuses in order; the summary goes to the table."""
        found = deployments(self.recorded(start))
        if expected is None:
            expect(not found, f"{outcome.step}: CodeDeploy ran {[d.summary() for d in found]}, expected none")
            outcome.codedeploy = "no deployment"
            return
        expect(len(found) == 1, f"{outcome.step}: {len(found)} deployments, expected one")
        [deployment] = found
        from_version, to_version, statuses = expected
        outcome.codedeploy = deployment.summary()
        expect(
            (deployment.from_version, deployment.to_version) == (from_version, to_version)
            and [reports for _, reports in deployment.hooks] == [[status] for status in statuses]
            and deployment.result == (SUCCEEDED if statuses[-1] == SUCCEEDED else FAILED),
            f"{outcome.step}: CodeDeploy ran {outcome.codedeploy}, expected {from_version} → {to_version} "
            f"with the hooks reporting {statuses}",
        )


def scratch_aws_files(directory: Path) -> Path:
    """Empty AWS config and credentials files: the user's real profiles are never read."""
    aws = directory / "aws"
    aws.mkdir(exist_ok=True)
    for name in ("config", "credentials"):
        (aws / name).touch()
    return aws


def host_architecture() -> str:
    return "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise RehearsalFailedError(message)


def release_copy(revision: str, destination: Path) -> Path:
    """The repository as it was at `revision` (git archive). Its own `make deploy` installs the
    environments its own lock files name: they need not be today's."""
    repo = destination / "release" / "repo"
    repo.mkdir(parents=True)
    archive = subprocess.run(  # nosec B603 B607
        ["git", "archive", "--format=tar", revision], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(repo, filter="data")  # our own repository's archive; "data" refuses links out of it
    return repo


def rehearse(workdir: Path, upgrade_from: str | None = None) -> list[Outcome]:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))[CONFIG_ENV]["global"]
    stack, region = config["parameters"]["stack_name"], config["parameters"]["region"]
    repo = scratch_copy(workdir)
    outcomes: list[Outcome] = []
    with emulator(workdir, region) as (endpoint, record):
        rehearsal = Rehearsal(repo, endpoint, record, region, stack)
        if upgrade_from:
            Rehearsal(release_copy(upgrade_from, workdir), endpoint, record, region, stack).deploy(upgrade_from)

        def step(name: str, *make_arguments: str, deployment: tuple[str, str, list[str]] | None = None) -> Outcome:
            """One deploy, checked; `deployment`: (from, to, the hooks' reports) CodeDeploy must run, else none."""
            since, start = time.time() - 1, len(rehearsal.recorded())
            refused = deployment is not None and deployment[2][-1] == FAILED
            seconds, printed = rehearsal.deploy(name, *make_arguments, refused=refused)
            outcome = rehearsal.check(name, seconds, printed, since, refused)
            rehearsal.deployment(outcome, start, deployment)
            outcomes.append(outcome)
            return outcome

        both = [SUCCEEDED, SUCCEEDED]
        upgraded = ("1", "2", both) if upgrade_from else None
        # A create deploys nothing through CodeDeploy; an upgrade moves `live` from the release's version.
        first = step(f"upgrade from {upgrade_from}" if upgrade_from else "create", deployment=upgraded)
        created = "UPDATE_COMPLETE" if upgrade_from else "CREATE_COMPLETE"
        expect(first.stack_status == created, f"{first.step}: stack is {first.stack_status}")
        expect(len(first.versions) == 1 and first.live == first.versions[0], f"create: versions {first.versions}")

        with (repo / "functions/api/handler.py").open("a", encoding="utf-8") as source:
            source.write("# Rehearsal: changed code.\n")
        code = step("new code", deployment=(first.live, str(int(first.live) + 1), both))
        expect(len(code.versions) == 1 and code.versions != first.versions, f"new code: versions {code.versions}")
        expect(code.live == code.versions[0], f"new code: live is {code.live}, not the new version")

        edit(repo / "template.yaml", MEMORY_SIZE_BEFORE, MEMORY_SIZE_AFTER)
        literal = step("new MemorySize", deployment=(code.live, str(int(code.live) + 1), both))
        expect(literal.versions != code.versions, f"new MemorySize: no new version ({literal.versions})")
        expect(literal.live == literal.versions[-1], f"new MemorySize: live is {literal.live}")
        expect(literal.memory_size == int(MEMORY_SIZE_AFTER.split()[-1]), f"live has {literal.memory_size} MB")

        strategy = step("strategy only", f"PARAMS={STRATEGY_ONLY}")
        expect(strategy.versions == literal.versions, f"strategy only: versions became {strategy.versions}")
        expect(strategy.live == literal.live, "strategy only: live moved")
        groups = [n for n in rehearsal.recorded() if n["type"] == "AWS::CodeDeploy::DeploymentGroup"]
        expect(
            bool(groups)
            and groups[-1]["properties"].get("DeploymentConfigName", "").endswith("Canary10Percent5Minutes"),
            "strategy only: the deployment group did not receive the new strategy",
        )
        strategy.notes.append("deployment group now CodeDeployDefault.LambdaCanary10Percent5Minutes")

        operations = step("operations only", f"PARAMS={OPERATIONS_ONLY}")
        expect(operations.versions == strategy.versions, f"operations only: versions became {operations.versions}")
        expect(operations.live == strategy.live, "operations only: live moved")
        canaries = [n for n in rehearsal.recorded() if n["type"] == "AWS::Synthetics::Canary"]
        kept = canaries[-1]["properties"].get("SuccessRetentionPeriod") if canaries else None
        expect(str(kept) == "14", f"operations only: the canary keeps its runs {kept!r} days, not 14")
        operations.notes.append("canary (nested MonitoringStack) now keeps runs 14 days")

        edit(repo / LIVENESS_SOURCE, LIVENESS_GOOD, LIVENESS_BROKEN)
        bad = step("liveness 500", deployment=(operations.live, str(int(operations.live) + 1), [FAILED]))
        expect(bad.versions == operations.versions, f"liveness 500: versions became {bad.versions}")
        expect(bad.live == operations.live, f"liveness 500: live moved to {bad.live}")
        logged = rehearsal.logged("PreTrafficHookLogGroup", time.time() - bad.seconds - 1)
        expect(logged["Check failed"] > 0, f"liveness 500: the pre-traffic hook logged {dict(logged)}")
        bad.notes.append("pre-traffic hook logged " + ", ".join(f"'{line}' x{count}" for line, count in logged.items()))
        bad.notes.append("make deploy failed; the new version deleted by the rollback")

        skipped = Counter(note["type"] for note in rehearsal.recorded() if note["action"] == "create")
        outcomes[0].notes.append(
            "accepted, not emulated: " + ", ".join(f"{kind} x{count}" for kind, count in sorted(skipped.items()))
        )
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    rows = [
        "| deploy | time | stack | resource events | nested stacks | versions | live → | MB | invoke live | API URL "
        "| CodeDeploy: hooks' reports | notes |",
        "|---|---:|---|---|---|---|---|---:|---|---|---|---|",
    ]
    for o in outcomes:
        events = ", ".join(f"{status} {count}" for status, count in sorted(o.events.items()))
        nested = ", ".join(f"{name} {state}" for name, state in o.nested.items())
        rows.append(
            f"| {o.step} | {o.seconds:.1f} s | {o.stack_status} | {events} | {nested} | {', '.join(o.versions)} "
            f"| {o.live} | {o.memory_size} | {o.liveness} | {o.api} | {o.codedeploy} | {'; '.join(o.notes)} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (logs, the copy)")
    parser.add_argument("--upgrade-from", metavar="REV", help="create the stack with this revision's make deploy first")
    args = parser.parse_args(argv)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="petsage-rehearsal-"))
    try:
        outcomes = rehearse(workdir, args.upgrade_from)
    except Exception as failure:  # noqa: BLE001 - any failure of the rehearsal is reported the same way
        what = "" if isinstance(failure, RehearsalFailedError) else f"{type(failure).__name__}: "
        log(f"FAILED: {what}{failure}")
        log(f"logs kept in {workdir}")
        return 1
    print(table(outcomes))
    print(f"\nrehearsal passed: {len(outcomes)} deploys in {time.monotonic() - started:.0f} s")
    if args.keep:
        log(f"scratch directory kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
