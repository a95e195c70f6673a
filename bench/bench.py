"""`make bench`: the health function's cold start, memory, warm latency and size against its peers.

Variants are built for this machine's architecture into bench-results/ and made read-only:
  bare     a handler returning json.dumps(...), importing nothing else: the floor
  sam      this function as `sam build`'s Python builder makes it: pip install + copy, no .pyc
  build    this function's real build (scripts/build_function.py, the recipe sam build runs)
  fastapi  the same contract in FastAPI + Mangum (bench/requirements.txt), built the default way
Every child process is the same launcher (bench/coldstart.py, which imports only json) run as
`python -I -S -B`, with sys.path = the variant's code, then what Lambda's runtime adds (boto3 and
its closure, bench/requirements-lambda.txt), then the standard library: the floor is a process
that imports json and nothing else. A cold start is timed from process start to the first answer
(not to exit), with the CPU time spent until then; peak RSS is the child's own (VmHWM). Rounds
alternate the variants (rotating who goes first) and the table shows medians, with ratios taken
from this same run, so load from other processes hits all alike. Warm latency is in-process,
spread over alternating processes. The zipped size is the artifact deflated, as `sam package`
uploads it. The functions' environments are template.yaml's, passed in by `make bench`
(--template-functions), on top of what Lambda sets. Nothing here opens a socket; only pip uses
the network. Progress goes to stderr, the tables to stdout; results.json and bench.svg (drawn by
bench/chart.py) hold the results.
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
from pathlib import Path
from typing import Any

from scripts.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-results"
LAUNCHER = ROOT / "bench" / "coldstart.py"
EVENTS = ROOT / "events"
RUNTIME = "runtime"  # bench-results/runtime: what Lambda's python3.13 runtime has on sys.path after the code
OPENAPI_GZIP = OUT / "events" / "openapi-gzip.json"  # events/openapi.json as a browser asks for it
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
    # A function that creates boto3 clients at init must never reach for instance credentials.
    "AWS_EC2_METADATA_DISABLED": "true",
}


def run_quietly(argv: list[str]) -> None:
    """A build step: its output is shown only when it fails (it would break the progress line)."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")


def pip_target(out: Path, requirements: Path, *, compile_: bool = False) -> None:
    """pip install --target; without bytecode unless asked (SAM's builder ships none)."""
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    pip += [] if compile_ else ["--no-compile"]
    run_quietly([*pip, "--target", str(out), "--requirement", str(requirements)])


def build_function(arch: str, function: str = "api") -> Callable[[Path], None]:
    def build(out: Path) -> None:
        script = str(ROOT / "scripts/build_function.py")
        run_quietly([sys.executable, script, "--function", function, "--arch", arch, str(out)])

    return build


def build_default(requirements: Path, source: Path) -> Callable[[Path], None]:
    """What `sam build`'s Python builder makes: the pinned packages and the source, no bytecode."""

    def build(out: Path) -> None:
        pip_target(out, requirements)
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


VARIANTS = (
    Variant("bare", "bare json.dumps handler (floor)", copy_source(ROOT / "bench/variants/bare")),
    Variant(
        "sam",
        "default SAM build (no .pyc)",
        build_default(ROOT / "functions/api/requirements.txt", ROOT / "functions/api"),
        function="HealthFunction",
    ),
    Variant("build", "real build (make build)", build_function("host"), function="HealthFunction"),
    Variant(
        "fastapi",
        "FastAPI + Mangum peer",
        build_default(ROOT / "bench/requirements.txt", ROOT / "bench/variants/fastapi"),
    ),
    # The CodeDeploy pre-traffic hook (once per deploy, not latency critical): its boto3 import and
    # two clients, to the point where it reports (here refused: the children have no credentials).
    Variant(
        "hook",
        "pre-traffic hook (imports boto3)",
        build_function("host", "pre_traffic_hook"),
        function="PreTrafficHookFunction",
        handler="pre_traffic_hook.handler.lambda_handler",
        event=EVENTS / "codedeploy-pre-traffic.json",
        status=None,
        warm=False,
    ),
)
FLOOR, DEFAULT, REAL, PEER = "bare", "sam", "build", "fastapi"
SHIPPED = Variant("arm64", "real build, arm64 (ships)", build_function("arm64"))


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
                sys.exit(f"template.yaml has no function {variant.function!r} (from --template-functions)")
            env.update(self.environments[variant.function])
        return env

    def build(self, variants: list[Variant]) -> None:
        """Fresh builds of every variant, the runtime packages and the arm64 artifact, read-only."""
        if OUT.exists():
            set_writable(OUT, writable=True)
            shutil.rmtree(OUT)
        OUT.mkdir()
        self.progress.phase("building variants", len(variants) + 1, f"{RUNTIME}, {', '.join(v.key for v in variants)}")
        self.progress.step(RUNTIME)
        # Lambda's runtime ships its boto3 with bytecode: compiled here too, or every child compiles it.
        pip_target(OUT / RUNTIME, ROOT / "bench/requirements-lambda.txt", compile_=True)
        for variant in variants:
            self.progress.step(variant.key)
            self.dirs[variant.key] = OUT / variant.key
            variant.build(self.dirs[variant.key])
        gzip_event(EVENTS / "openapi.json", OPENAPI_GZIP)
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


def gzip_event(source: Path, destination: Path) -> None:
    """The committed event with `accept-encoding: gzip` (a browser's request), as a new file."""
    event = json.loads(source.read_text(encoding="utf-8"))
    event["headers"]["accept-encoding"] = "gzip"
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(json.dumps(event), encoding="utf-8")


def read_environments(path: str | None) -> dict[str, dict[str, str]]:
    """{logical id: Environment.Variables} from scripts/template_functions.py's JSON."""
    if path is None:
        sys.exit("--template-functions is required: run `make bench`, which passes template.yaml's functions")
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        functions = json.loads(text)
        return {name: dict(spec["environment"]) for name, spec in functions.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        sys.exit(f"--template-functions {path}: not scripts/template_functions.py's JSON ({error!r})")


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
    parser.add_argument("--template-functions", metavar="FILE", help="scripts/template_functions.py's JSON (- stdin)")
    args = parser.parse_args()
    if args.runs < 1 or args.invocations < 10 or args.docs_invocations < 10:
        parser.error("--runs must be at least 1, --invocations and --docs-invocations at least 10")
    environments = read_environments(args.template_functions)

    progress = Progress("bench")
    bench = Bench(environments, progress)
    variants = list(VARIANTS)
    bench.build([*variants, SHIPPED])
    by_key = {variant.key: variant for variant in variants}

    samples = {variant.key: Samples() for variant in variants}
    progress.phase("cold rounds", args.runs * len(variants), f"{args.runs} rounds x {len(variants)} variants")
    for round_ in range(args.runs):
        for variant in rotated(variants, round_):
            progress.step(f"{variant.key}, round {round_ + 1}/{args.runs}")
            bench.cold_start(variant, samples[variant.key])

    cases = [WarmCase(f"liveness-{v.key}", f"{v.label}: {v.event.name}", v.key, v.event) for v in variants if v.warm]
    cases += [
        WarmCase("docs", "GET /docs (gzip)", REAL, EVENTS / "docs.json", encoding="gzip"),
        WarmCase("openapi", "GET /openapi.json (gzip)", REAL, OPENAPI_GZIP, encoding="gzip"),
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
    OUT.chmod(0o755)
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    from bench.chart import render  # matplotlib loads only now: the children never fork from it

    render(results, OUT / "bench.svg")
    progress.finish(f"results in {OUT.relative_to(ROOT)}/results.json and bench.svg")
    print_tables(results)


if __name__ == "__main__":
    main()
