"""Metrics for Prometheus: every metric the platform exports, the `/metrics` view, the HTTP timing
middleware, and the Celery task outcomes (docs/operations.md "Metrics").

With several processes on one host (uvicorn's workers, Celery), set PROMETHEUS_MULTIPROC_DIR to a
directory they share, emptied when the host's processes start (`make run` and the image do): each
process writes its values there and `/metrics` on any web process sums them, so the counters are the
host's. Without it each process counts alone (one process per host, or tests).

`/metrics` is not public: it answers callers from METRICS_ALLOWED_NETWORKS (loopback by default), or
with `Authorization: Bearer <METRICS_TOKEN>`; anyone else gets a 404.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils.decorators import sync_and_async_middleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

OPEN_CONNECTIONS = Gauge(
    "scores_open_connections", "Open WebSocket connections and event streams", ["room", "transport"],
    multiprocess_mode="livesum",
)  # fmt: skip
FRAMES_SENT = Counter("scores_frames_sent", "Frames written to clients (a batch counts once per client)", ["room"])
SLOW_CLIENTS_DROPPED = Counter("scores_slow_clients_dropped", "Clients dropped because they stopped reading")
CLIENT_ERRORS = Counter("scores_client_errors", "Error frames sent to clients for what they sent", ["code"])
UPDATES_RECEIVED = Counter("scores_updates_received", "Live score posts, by what became of them", ["outcome"])
BATCHES_FLUSHED = Counter("scores_batches_flushed", "Score batches published, by who published them", ["by"])
FLUSH_LAG = Histogram(
    "scores_flush_lag_seconds", "From a batch's first score to its publication",
    buckets=(0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, 10),
)  # fmt: skip
HTTP_REQUESTS = Histogram(
    "scores_http_request_duration_seconds", "HTTP requests until their answer starts", ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)  # fmt: skip
CELERY_TASKS = Counter("scores_celery_tasks", "Celery tasks run, by outcome", ["task", "outcome"])
WEBHOOK_DELIVERIES = Counter("scores_webhook_deliveries", "Webhook delivery attempts, by outcome", ["outcome"])


def forget_dead_processes() -> None:
    """Drop the live gauges of processes of this host that are gone (a web worker that crashed and was
    started again): their open connections are not open any more. Run as each process starts."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory or not os.path.isdir(directory):
        return
    for name in os.listdir(directory):
        if not name.startswith("gauge_live"):
            continue
        pid = name.rsplit("_", 1)[-1].removesuffix(".db")
        if pid.isdigit() and not _alive(int(pid)):
            multiprocess.mark_process_dead(int(pid), directory)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


forget_dead_processes()


def _registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    offered = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network) for network in settings.METRICS_ALLOWED_NETWORKS)


def metrics_view(request):
    if not _allowed(request):
        raise Http404("Not found")
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


def _observe(request, response, started: float) -> None:
    match = getattr(request, "resolver_match", None)
    endpoint = match.route if match is not None else "unmatched"
    HTTP_REQUESTS.labels(endpoint, request.method, str(response.status_code)).observe(time.perf_counter() - started)


@sync_and_async_middleware
def request_timing(get_response):
    """HTTP latency by endpoint (the URL pattern, not the path: ids would make a series each) and
    status. Sync and async: an async view (the event streams) stays on the event loop."""
    if iscoroutinefunction(get_response):

        async def timed_async(request):
            started = time.perf_counter()
            response = await get_response(request)
            _observe(request, response, started)
            return response

        return timed_async

    def timed(request):
        started = time.perf_counter()
        response = get_response(request)
        _observe(request, response, started)
        return response

    return timed


def count_celery_tasks(app) -> None:
    """Count every task's outcome (connected by project/celery.py in the workers)."""
    from celery import signals

    @signals.task_success.connect(weak=False)
    def succeeded(sender=None, **kwargs) -> None:
        CELERY_TASKS.labels(sender.name, "success").inc()

    @signals.task_failure.connect(weak=False)
    def failed(sender=None, **kwargs) -> None:
        CELERY_TASKS.labels(sender.name, "failure").inc()

    @signals.task_retry.connect(weak=False)
    def retried(sender=None, **kwargs) -> None:
        CELERY_TASKS.labels(sender.name, "retry").inc()

    @signals.worker_ready.connect(weak=False)
    def serve_metrics(**kwargs) -> None:
        """A worker on a host of its own (a container) serves its metrics on METRICS_PORT, if set."""
        port = os.environ.get("METRICS_PORT")
        if port:
            from prometheus_client import start_http_server

            start_http_server(int(port), registry=_registry())
