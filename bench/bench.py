"""`make bench`: the API function's cold start, memory, warm latency and size against its peers.

Variants are built for this machine's architecture into bench-results/ and made read-only:
  bare     a handler returning json.dumps(...), importing nothing else: the floor
  sam      the API function as `sam build`'s Python builder makes it: pip install + copy, no .pyc
  build    the API function's real build (scripts/build_function.py, the recipe sam build runs)
  fastapi  the same contract in FastAPI + Mangum (uv.lock's group peer), built the default way
  hook     the CodeDeploy pre-traffic hook as SAM builds it, a copy (cold start only)
Their pinned, hash-checked requirements are uv.lock's groups, exported into bench-results/ (api,
peer, and runtime: boto3, what Lambda's python3.13 runtime puts on sys.path, which the hook
uses); pip installs them with a CPython 3.13 that has pip (scripts/find-python313), as the
build does. Every child process is the same launcher (bench/coldstart.py, which imports only
json) run as `python -I -S -B`, with sys.path = the variant's code, then the runtime's boto3,
then the standard library: the floor is a process that imports json and nothing else. A cold
start is timed from process start to the first answer (not to exit), with the CPU time spent
until then; peak RSS is the child's own (VmHWM). Rounds alternate the variants (rotating who
goes first) and the table shows medians, with ratios taken from this same run, so load from
other processes hits all alike. Warm latency is in-process, spread over alternating processes.
The zipped size is the artifact deflated, as `sam package` uploads it. The functions'
environments are template.yaml's (local_api.template), on top of what Lambda sets. Nothing here
opens a socket; only pip uses the network. Progress goes to stderr, the tables to stdout, the
results to docs/bench-results.json and docs/bench.svg (drawn by bench/chart.py).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from local_api.events import build_event
from local_api.template import functions, http_api_routes, load_template, matching_route
from scripts.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-results"
RESULTS, CHART = ROOT / "docs" / "bench-results.json", ROOT / "docs" / "bench.svg"
LAUNCHER = ROOT / "bench" / "coldstart.py"
UV = ROOT / ".tools" / "uv" / "bin" / "uv"
EVENTS = ROOT / "events"
RUNTIME = "runtime"  # bench-results/runtime: what Lambda's python3.13 runtime has on sys.path after the code
GROUPS = ("api", "peer", RUNTIME)  # uv.lock's groups the variants install
# Built from the template's routes (tests.conftest.request's way) into bench-results/events/, as a browser asks.
DOCS_EVENT, OPENAPI_EVENT = OUT / "events" / "docs.json", OUT / "events" / "openapi.json"
BROWSER = {"accept-encoding": "gzip, deflate, br", "user-agent": "Mozilla/5.0"}
MEMORY_SIZES = (256, 512, 1024, 1769)
WARM_ROUNDS = 5
# What Lambda's runtime sets for every function (the template's variables come on top).
LAMBDA_ENV = {
    "LANG": "C.UTF-8",
    "TZ": ":UTC",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1769",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    # No credentials anywhere (not the instance's, nor ~/.aws): an AWS call fails before it connects.
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def run_quietly(argv: list[str]) -> None:
    """A build step: its output is shown only when it fails (it would break the progress line)."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")


@cache
def build_python() -> str:
    """A CPython 3.13 with pip, as `make build` uses (.venv has no pip): the build needs it."""
    found = subprocess.run([ROOT / "scripts" / "find-python313"], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        sys.exit(found.stderr)
    return found.stdout.strip()


def requirements(group: str) -> Path:
    """uv.lock's group, exported by Bench.build before any variant is built."""
    return OUT / f"requirements-{group}.txt"


def pip_target(out: Path, group: str, *, compile_: bool = False) -> None:
    """pip install --target; without bytecode unless asked (SAM's builder ships none)."""
    pip = [build_python(), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    pip += [] if compile_ else ["--no-compile"]
    run_quietly([*pip, "--target", str(out), "--requirement", str(requirements(group))])


def build_function(arch: str, source: Path, group: str) -> Callable[[Path], None]:
    def build(out: Path) -> None:
        script = str(ROOT / "scripts" / "build_function.py")
        run_quietly([build_python(), script, str(source), str(requirements(group)), str(out), "--arch", arch])

    return build


def build_default(group: str, source: Path) -> Callable[[Path], None]:
    """What `sam build`'s Python builder makes: the pinned packages and the source, no bytecode."""

    def build(out: Path) -> None:
        pip_target(out, group)
        shutil.copytree(source, out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)

    return build


def copy_source(source: Path) -> Callable[[Path], None]:
    def build(out: Path) -> None:
        shutil.copytree(source, out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

    return build


@dataclass(frozen=True)
class Variant:
    """One thing whose cold start is measured: code built into a directory, a handler in it, an event for it.

    A second function (e.g. a CodeDeploy hook) is one more entry in VARIANTS: its build, its
    template logical id (for its environment), its handler ("package.module.function") and its
    event; `status` None accepts any answer (a hook returns no proxy response), and `warm` False
    leaves it out of the warm rounds (and its bar out of the chart's warm panel).
    """

    key: str
    label: str
    build: Callable[[Path], None]
    function: str | None = None  # template.yaml logical id whose Environment.Variables the child gets
    handler: str = "handler.lambda_handler"
    event: Path = EVENTS / "health.json"
    status: int | None = 200
    warm: bool = True


API, HOOKS = ROOT / "functions" / "api", ROOT / "functions" / "deploy_hooks"
VARIANTS = (
    Variant("bare", "bare json.dumps handler (floor)", copy_source(ROOT / "bench" / "variants" / "bare")),
    Variant("sam", "default SAM build (no .pyc)", build_default("api", API), function="HealthFunction"),
    Variant("build", "real build (make build)", build_function("host", API, "api"), function="HealthFunction"),
    Variant("fastapi", "FastAPI + Mangum peer", build_default("peer", ROOT / "bench" / "variants" / "fastapi")),
    # The CodeDeploy pre-traffic hook (once per deploy, not latency critical): its boto3 import and
    # clients, to the point where it reports (here refused: the children have no credentials).
    Variant(
        "hook",
        "pre-traffic hook (imports boto3)",
        copy_source(HOOKS),
        function="PreTrafficHookFunction",
        handler="deploy_hooks.pre_traffic.lambda_handler",
        event=EVENTS / "codedeploy-hook.json",
        status=None,
        warm=False,
    ),
)
FLOOR, DEFAULT, REAL, PEER = "bare", "sam", "build", "fastapi"
SHIPPED = Variant("arm64", "real build, arm64 (ships)", build_function("arm64", API, "api"))


@dataclass(frozen=True)
class WarmCase:
    """A warm loop: one variant answering one event, `invocations` times per alternating process."""

    key: str
    label: str
    variant: str
    event: Path
    encoding: str | None = None  # the Content-Encoding the answer must carry


@dataclass
class Samples:
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)


class Bench:
    def __init__(self, environments: Mapping[str, Mapping[str, str]], progress: Progress) -> None:
        self.environments = environments
        self.progress = progress
        self.dirs: dict[str, Path] = {}

    def environment(self, variant: Variant) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **LAMBDA_ENV}
        env["AWS_LAMBDA_FUNCTION_NAME"] = variant.function or variant.key
        env["LAMBDA_TASK_ROOT"] = str(self.dirs[variant.key])
        if variant.function is not None:
            if variant.function not in self.environments:
                sys.exit(f"template.yaml has no function {variant.function!r}")
            env.update(self.environments[variant.function])
        return env

    def build(self, variants: list[Variant], template: dict[str, Any]) -> None:
        """Fresh builds of every variant, the runtime packages and the arm64 artifact, read-only."""
        if OUT.exists():
            set_writable(OUT, writable=True)
            shutil.rmtree(OUT)
        OUT.mkdir()
        for group in GROUPS:
            run_quietly([str(UV), "export", "--frozen", "--no-emit-project", "--no-header", "--quiet",
                         "--only-group", group, "--output-file", str(requirements(group))])  # fmt: skip
        self.progress.phase("building variants", len(variants) + 1, f"{RUNTIME}, {', '.join(v.key for v in variants)}")
        self.progress.step(RUNTIME)
        # Lambda's runtime ships its boto3 with bytecode: compiled here too, or every child compiles it.
        pip_target(OUT / RUNTIME, RUNTIME, compile_=True)
        for variant in variants:
            self.progress.step(variant.key)
            self.dirs[variant.key] = OUT / variant.key
            variant.build(self.dirs[variant.key])
        write_event(DOCS_EVENT, get(template, "/docs", accept="text/html"))
        write_event(OPENAPI_EVENT, get(template, "/openapi.json", accept="application/json"))
        set_writable(OUT, writable=False)

    def launch(
        self, variant: Variant, mode: str, event: Path, invocations: int = 0
    ) -> tuple[list[dict[str, Any]], float]:
        """One child: its reports (cold: the first answer, then the peak RSS), and the wall ms until the first."""
        read_end, write_end = os.pipe()
        argv = [sys.executable, "-I", "-S", "-B", str(LAUNCHER), mode, str(write_end), variant.handler, str(event)]
        argv += [str(invocations), str(self.dirs[variant.key]), str(OUT / RUNTIME)]
        with tempfile.TemporaryFile() as stderr, os.fdopen(read_end, encoding="utf-8") as reports:
            start = time.perf_counter()
            child = subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=stderr, env=self.environment(variant), pass_fds=(write_end,)
            )
            os.close(write_end)
            first = reports.readline()
            wall_ms = (time.perf_counter() - start) * 1000
            lines = [first, *reports]
            if child.wait() != 0 or not first:
                stderr.seek(0)
                detail = stderr.read().decode(errors="replace")[-3000:]
                sys.exit(f"{variant.key} ({mode}, {event.name}): no answer (exit {child.returncode})\n{detail}")
        return [json.loads(line) for line in lines], wall_ms

    def cold_start(self, variant: Variant, samples: Samples) -> None:
        (first, last), wall_ms = self.launch(variant, "cold", variant.event)
        if variant.status is not None and first["status"] != variant.status:
            sys.exit(f"{variant.key}: expected a {variant.status} from {variant.event.name}, got {first}")
        samples.wall_ms.append(wall_ms)
        samples.cpu_ms.append(first["cpu_ms"])
        samples.rss_mib.append(last["peak_rss_kib"] / 1024)

    def warm(self, case: WarmCase, variant: Variant, invocations: int) -> float:
        (report,), _ = self.launch(variant, "warm", case.event, invocations)
        if report["status"] != 200 or report["content_encoding"] != case.encoding:
            sys.exit(f"{case.key}: expected a 200 with Content-Encoding {case.encoding}, got {report}")
        us: float = report["us_per_invocation"]
        return us


def set_writable(path: Path, writable: bool) -> None:
    for item in [path, *path.rglob("*")]:
        mode = item.stat().st_mode
        item.chmod(mode | 0o200 if writable else mode & ~0o222)


def zipped_mib(code: Path) -> float:
    """The directory zipped with deflate, as `sam package` uploads it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(code.rglob("*")):
            archive.write(path, path.relative_to(code))
    return len(buffer.getvalue()) / 2**20


def rotated[T](items: list[T], round_: int) -> list[T]:
    """Who goes first changes every round, so no variant always follows the same neighbour."""
    shift = round_ % len(items)
    return items[shift:] + items[:shift]


def get(template: dict[str, Any], path: str, accept: str) -> dict[str, Any]:
    """The payload 2.0 event API Gateway sends the function for a browser's GET of `path`."""
    route = matching_route(http_api_routes(template), "GET", path)
    return build_event(
        method="GET",
        target=path,
        headers=[("host", "abc123defg.execute-api.eu-west-1.amazonaws.com"), ("accept", accept), *BROWSER.items()],
        body=b"",
        source_ip="203.0.113.10",
        route_key=str(route),
    )


def write_event(path: Path, event: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(event), encoding="utf-8")


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets (issue 12), each with what this run measured; `value` and `limit` share a unit."""
    by_key = {variant["key"]: variant for variant in results["variants"]}
    docs = {case["key"]: case["ms"] for case in results["warm_docs"]}

    def ratio(target_id: str, text: str, a: str, b: str, limit: float) -> dict[str, Any]:
        value = by_key[a]["cold_ms"] / by_key[b]["cold_ms"]
        cpu = by_key[a]["cpu_ms"] / by_key[b]["cpu_ms"]
        return {"id": target_id, "target": text, "measured": f"{value:.2f} x (CPU {cpu:.2f} x)", "value": value,
                "limit": limit, "unit": "x"}  # fmt: skip

    def absolute(target_id: str, text: str, value: float, unit: str, limit: float) -> dict[str, Any]:
        return {"id": target_id, "target": text, "measured": f"{value:.2f} {unit}", "value": value,
                "limit": limit, "unit": unit}  # fmt: skip

    rows = [
        ratio("cold-floor", "cold(real build) <= 7 x floor", REAL, FLOOR, 7),
        ratio("cold-sam", "cold(real build) <= 0.40 x default SAM build", REAL, DEFAULT, 0.40),
        ratio("cold-fastapi", "cold(real build) <= 0.30 x FastAPI + Mangum", REAL, PEER, 0.30),
        absolute("warm-liveness", "warm liveness(real build) <= 60 µs", by_key[REAL]["warm_us"], "µs", 60),
        absolute("warm-docs", "warm GET /docs (gzip) <= 5 ms", docs["docs"], "ms", 5),
        absolute("warm-openapi", "warm GET /openapi.json (gzip) <= 5 ms", docs["openapi"], "ms", 5),
        absolute("rss", "peak RSS(real build) <= 40 MiB", by_key[REAL]["rss_mib"], "MiB", 40),
        absolute("zip", "zipped arm64 artifact <= 4 MiB", results["shipped"]["zipped_mib"], "MiB", 4),
    ]
    for row in rows:
        row["pass"] = row["value"] <= row["limit"]
    return rows


def print_tables(results: dict[str, Any]) -> None:
    floor = next(variant for variant in results["variants"] if variant["key"] == FLOOR)
    print(f"medians of {results['runs']} alternating cold starts per variant (process start to first answer);")
    print(f"warm: median of {WARM_ROUNDS} alternating processes, each the median of 10 batches;")
    print(f"zip: deflate; built for this host ({results['machine']}, CPython {results['python']})\n")
    print("| variant | cold start ms | x floor | CPU ms | peak RSS MiB | warm µs/invocation | zipped MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for variant in results["variants"]:
        warm = "" if variant["warm_us"] is None else f"{variant['warm_us']:.1f}"
        print(
            f"| {variant['label']} | {variant['cold_ms']:.0f} | {variant['cold_ms'] / floor['cold_ms']:.1f} "
            f"| {variant['cpu_ms']:.0f} | {variant['rss_mib']:.1f} | {warm} | {variant['zipped_mib']:.2f} |"
        )
    print(f"| {results['shipped']['label']} | | | | | | {results['shipped']['zipped_mib']:.2f} |")
    print("\n| warm, real build | ms/invocation |\n|---|---:|")
    for case in results["warm_docs"]:
        print(f"| {case['label']} | {case['ms']:.2f} |")
    print("\n| target | measured | verdict |\n|---|---:|---|")
    for row in results["targets"]:
        print(f"| {row['target']} | {row['measured']} | {'PASS' if row['pass'] else 'MISS'} |")
    # Lambda gives one full vCPU at 1769 MB and a proportional share below, so CPU-bound init
    # stretches by 1769/MB. Wall time beyond CPU time here is mostly waiting for a core on a
    # shared host, so it is left out. This host's CPU is not Graviton's: a rough guide only.
    cpu = {variant["key"]: variant["cpu_ms"] for variant in results["variants"]}
    print("\n| memory MB | vCPU share | estimated init, real build, ms | default SAM build, ms |")
    print("|---:|---:|---:|---:|")
    for memory in MEMORY_SIZES:
        share = min(1.0, memory / 1769)
        print(f"| {memory} | {share:.2f} | {cpu[REAL] / share:.0f} | {cpu[DEFAULT] / share:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="cold starts per variant (alternating rounds)")
    parser.add_argument("--invocations", type=int, default=10000, help="warm liveness invocations per variant")
    parser.add_argument("--docs-invocations", type=int, default=250, help="warm /docs and /openapi.json invocations")
    args = parser.parse_args()
    if args.runs < 1 or args.invocations < 10 or args.docs_invocations < 10:
        parser.error("--runs must be at least 1, --invocations and --docs-invocations at least 10")
    template = load_template()

    progress = Progress("bench")
    bench = Bench({name: spec.environment for name, spec in functions(template).items()}, progress)
    variants = list(VARIANTS)
    bench.build([*variants, SHIPPED], template)
    by_key = {variant.key: variant for variant in variants}

    samples = {variant.key: Samples() for variant in variants}
    progress.phase("cold rounds", args.runs * len(variants), f"{args.runs} rounds x {len(variants)} variants")
    for round_ in range(args.runs):
        for variant in rotated(variants, round_):
            progress.step(f"{variant.key}, round {round_ + 1}/{args.runs}")
            bench.cold_start(variant, samples[variant.key])

    cases = [WarmCase(f"liveness-{v.key}", f"{v.label}: {v.event.name}", v.key, v.event) for v in variants if v.warm]
    cases += [
        WarmCase("docs", "GET /docs (gzip)", REAL, DOCS_EVENT, encoding="gzip"),
        WarmCase("openapi", "GET /openapi.json (gzip)", REAL, OPENAPI_EVENT, encoding="gzip"),
    ]
    per_process = {case.key: args.invocations // WARM_ROUNDS for case in cases}
    per_process.update(docs=args.docs_invocations // WARM_ROUNDS, openapi=args.docs_invocations // WARM_ROUNDS)
    warm_runs: dict[str, list[float]] = {case.key: [] for case in cases}
    progress.phase("warm rounds", WARM_ROUNDS * len(cases), f"{WARM_ROUNDS} rounds x {len(cases)} loops")
    for round_ in range(WARM_ROUNDS):  # alternating too: a busy spell must not land on one variant
        for case in rotated(cases, round_):
            progress.step(f"{case.key}, round {round_ + 1}/{WARM_ROUNDS}")
            warm_runs[case.key].append(bench.warm(case, by_key[case.variant], per_process[case.key]))

    progress.phase("sizes", len(variants) + 1, "zipping each build")
    sizes = {}
    for variant in [*variants, SHIPPED]:
        progress.step(variant.key)
        sizes[variant.key] = zipped_mib(OUT / variant.key)

    results: dict[str, Any] = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
        "runs": args.runs,
        "warm_rounds": WARM_ROUNDS,
        "roles": {"floor": FLOOR, "default": DEFAULT, "real": REAL, "peer": PEER},
        "variants": [
            {
                "key": variant.key,
                "label": variant.label,
                "cold_ms": statistics.median(samples[variant.key].wall_ms),
                "cpu_ms": statistics.median(samples[variant.key].cpu_ms),
                "rss_mib": statistics.median(samples[variant.key].rss_mib),
                "warm_us": statistics.median(warm_runs[f"liveness-{variant.key}"]) if variant.warm else None,
                "zipped_mib": sizes[variant.key],
            }
            for variant in variants
        ],
        "shipped": {"label": SHIPPED.label, "zipped_mib": sizes[SHIPPED.key]},
        "warm_docs": [
            {"key": case.key, "label": case.label, "ms": statistics.median(warm_runs[case.key]) / 1000}
            for case in cases
            if case.variant == REAL and not case.key.startswith("liveness-")
        ],
        "invocations": {case.key: per_process[case.key] * WARM_ROUNDS for case in cases},
    }
    results["targets"] = targets(results)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    from bench.chart import render  # matplotlib loads only now: the children never fork from it

    render(results, CHART)
    progress.finish(f"results in {RESULTS.relative_to(ROOT)} and {CHART.relative_to(ROOT)}")
    print_tables(results)


if __name__ == "__main__":
    main()
