"""Readiness: are the dependencies this deployment is configured to check reachable, now?

Checks run concurrently, each within its own deadline, so the answer takes about as long
as the slowest check and never much longer than the timeout. Results are reused for a
short TTL so that frequent health pings cannot hammer the dependencies.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from petsage_api import VERSION
from petsage_api.health.checks import COMPONENT_TYPES, PROBES, Clients, check
from petsage_api.health.config import Dependency, ReadinessConfig
from petsage_api.health.models import CheckResult, CheckStatus, ReadinessResponse
from petsage_api.observability import DEPLOYMENT, NAMESPACE, SERVICE, flush, invocation_fields, logger

MEASUREMENT = "responseTime"
# Time kept back from Lambda's own deadline to build and return the answer.
RESPONSE_MARGIN_SECONDS = 0.25
DESCRIPTION = "Readiness of the PetSage API: reachability of the dependencies this deployment checks."
DEPENDENCY_RECORD = "Dependency checked"

# One more EMF line per dependency check run (a cached answer runs none): its own dimension, the
# check key, so its own metric set.
dependency_metrics = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
dependency_metrics.set_default_dimensions(deployment=DEPLOYMENT, service=SERVICE)


@dataclass(frozen=True)
class _Measurement:
    status: CheckStatus
    latency_ms: float
    at: datetime
    error: str | None = None  # for the logs only: the endpoint is public


class ReadinessProbe:
    def __init__(self, config: ReadinessConfig, version: str = VERSION, service_id: str = SERVICE) -> None:
        self.config = config
        self.version = version  # the API's public version, reported as `version`
        self.service_id = service_id
        self._clients = Clients(config.timeout_seconds)
        self._cached: tuple[float, ReadinessResponse] | None = None
        self._lock = threading.Lock()
        # Said once, when the environment starts; the readiness answer reports them as failing checks.
        for problem in config.problems:
            logger.warning("Readiness configuration problem", extra={"problem": problem})

    @classmethod
    def from_environment(cls) -> ReadinessProbe:
        return cls(ReadinessConfig.from_environment(os.environ))

    def report(self, remaining_seconds: float | None = None) -> ReadinessResponse:
        """The current readiness, measured or reused from the last TTL window."""
        with self._lock:
            now = time.monotonic()
            if self._cached and now < self._cached[0]:
                return self._cached[1]
            response = self._measure(remaining_seconds)
            if self.config.cache_ttl_seconds > 0:
                self._cached = (time.monotonic() + self.config.cache_ttl_seconds, response)
            return response

    def _measure(self, remaining_seconds: float | None) -> ReadinessResponse:
        deadline = self.config.timeout_seconds
        if remaining_seconds is not None:
            deadline = max(0.0, min(deadline, remaining_seconds - RESPONSE_MARGIN_SECONDS))
        checks: dict[str, list[CheckResult]] = {}
        # What each result means for the whole: an optional dependency's failure is only a warning.
        weights: set[CheckStatus] = set()
        for variable, count in self.config.invalid.items():
            checks[f"config/{variable}:validity"] = [
                CheckResult(
                    component_id=variable,
                    component_type="component",
                    observed_value=count,
                    observed_unit="invalid names",
                    status=CheckStatus.FAIL,
                    time=datetime.now(UTC),
                )
            ]
            weights.add(CheckStatus.FAIL)
        for dependency, measurement in self._run_checks(deadline).items():
            checks[f"{dependency.component_name}:{MEASUREMENT}"] = [
                CheckResult(
                    component_id=dependency.name,
                    component_type=COMPONENT_TYPES[dependency.service],
                    observed_value=round(measurement.latency_ms, 1),
                    status=measurement.status,
                    time=measurement.at,
                )
            ]
            failed_optional = dependency.optional and measurement.status is CheckStatus.FAIL
            weights.add(CheckStatus.WARN if failed_optional else measurement.status)
        overall = next((s for s in (CheckStatus.FAIL, CheckStatus.WARN) if s in weights), CheckStatus.PASS)
        return ReadinessResponse(
            status=overall,
            version=self.version,
            release_id=self.config.release_id,
            service_id=self.service_id,
            description=DESCRIPTION,
            checks=checks,
        )

    def _run_checks(self, deadline: float) -> dict[Dependency, _Measurement]:
        dependencies = self.config.dependencies
        if not dependencies:
            return {}
        self._clients.prepare({dependency.service for dependency in dependencies if dependency.service in PROBES})
        started = time.perf_counter()
        # One worker per check: a check queued behind others would time out without being tried.
        executor = ThreadPoolExecutor(max_workers=len(dependencies), thread_name_prefix="health")
        futures = {executor.submit(self._check, dependency, deadline): dependency for dependency in dependencies}
        wait(futures, timeout=deadline)
        # A check still running past its deadline is a failure; its thread ends on its own
        # once botocore's connect/read timeouts fire, without holding up this answer.
        executor.shutdown(wait=False, cancel_futures=True)
        results: dict[Dependency, _Measurement] = {}
        for future, dependency in futures.items():
            measurement = self._outcome(future, dependency, started, deadline)
            latency_ms = round(measurement.latency_ms, 1)  # as observedValue shows it
            _record(dependency.component_name, latency_ms, failed=measurement.status is CheckStatus.FAIL)
            results[dependency] = measurement
        return results

    def _check(self, dependency: Dependency, deadline: float) -> _Measurement:
        # Runs in a worker thread and never logs: a check abandoned at its deadline must not
        # add a second, late line about the same failure.
        started = time.perf_counter()
        error = None
        try:
            status = check(dependency, self._clients, deadline)
        except Exception as exc:  # noqa: BLE001 - whatever stops the call, the dependency is not ready
            status, error = CheckStatus.FAIL, f"{type(exc).__name__}: {exc}"
        latency = time.perf_counter() - started
        if status is CheckStatus.PASS and latency >= deadline / 2:
            status = CheckStatus.WARN  # it answered, but used half its budget doing so
        return _Measurement(status, latency * 1000, datetime.now(UTC), error)

    @staticmethod
    def _outcome(future: Future[_Measurement], dependency: Dependency, started: float, deadline: float) -> _Measurement:
        if future.done() and not future.cancelled():
            measurement = future.result()
            if measurement.error:
                logger.warning(
                    "Dependency check failed",
                    extra={"check": dependency.component_name, "error": measurement.error},
                )
            return measurement
        logger.warning(
            "Dependency check timed out",
            extra={"check": dependency.component_name, "timeout_seconds": deadline},
        )
        return _Measurement(CheckStatus.FAIL, (time.perf_counter() - started) * 1000, datetime.now(UTC))


def _record(check: str, latency_ms: float, *, failed: bool) -> None:
    """One line per dependency check run: that dependency's latency and failure, with the invocation's ids."""
    dependency_metrics.add_dimension(name="dependency", value=check)
    dependency_metrics.add_metric(name="DependencyLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    dependency_metrics.add_metric(name="DependencyFailures", unit=MetricUnit.Count, value=1 if failed else 0)
    for key, value in invocation_fields(level="INFO", message=DEPENDENCY_RECORD, failed=failed).items():
        dependency_metrics.add_metadata(key=key, value=value)
    flush(dependency_metrics)
