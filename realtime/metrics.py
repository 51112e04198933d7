"""Prometheus metrics (prometheus-client), one registry per app so several apps in one process never clash.

``wnm_http_requests_total{method, status}`` · ``wnm_commands_total{kind, status}`` (kind: command, rollback,
undo, redo, fork, shot; status: applied, rejected, or the HTTP status of a refusal) ·
``wnm_command_seconds{kind}`` (from request to the local projector's verdict) · ``wnm_projector_events{what}``
(the projector's counters, failures included: see ``Projector``) · ``wnm_projector_position{project}``,
``wnm_projector_lag{project}``, ``wnm_projector_ready{project, state}`` (read at scrape time) ·
``wnm_agents_running``, ``wnm_agents_restarts`` (``wnm up``'s agents process) and ``wnm_agents_lag{agent, project}``
(events the agent has yet to decide on, read by the metrics route just before).
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, GCCollector, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

__all__ = ["Metrics", "CONTENT_TYPE_LATEST"]


class _ProjectorCollector:
    def __init__(self, system):
        self.system = system

    def collect(self):
        projector = getattr(self.system, "projector", None)
        if projector is None:
            return
        counts = CounterMetricFamily("wnm_projector_events", "Events and errors seen by the projector",
                                     labels=["what"])
        for what, n in sorted(projector.counts.items()):
            counts.add_metric([what], n)
        yield counts
        pos = GaugeMetricFamily("wnm_projector_position", "Last seq committed per project", labels=["project"])
        lag = GaugeMetricFamily("wnm_projector_lag", "Events between the stream head (as last checked) and the "
                                "last committed seq, per project", labels=["project"])
        ready = GaugeMetricFamily("wnm_projector_ready", "1 when the project's projection is healthy, else 0 "
                                  "(see /readyz)", labels=["project", "state"])
        for p, h in projector.health().items():
            pos.add_metric([p], h.committed)
            lag.add_metric([p], h.lag)
            ready.add_metric([p, h.state], 1 if h.ready else 0)
        yield pos
        yield lag
        yield ready
        yield from self._agents()

    def _agents(self):
        process = getattr(self.system, "agents", None)
        if process is not None:
            status = process.status()
            yield GaugeMetricFamily("wnm_agents_running", "1 while the agents process runs", value=int(status["running"]))
            yield CounterMetricFamily("wnm_agents_restarts", "Restarts of the agents process", value=status["restarts"])
        lag = GaugeMetricFamily("wnm_agents_lag", "Events an agent has yet to decide on, per project",
                                labels=["agent", "project"])
        for agent, projects in sorted((getattr(self.system, "agents_lag", None) or {}).items()):
            for project, n in sorted(projects.items()):
                lag.add_metric([agent, project], n)
        yield lag


class Metrics:
    def __init__(self, system=None):
        self.registry = CollectorRegistry()
        self.requests = Counter("wnm_http_requests", "HTTP requests served", ["method", "status"],
                                registry=self.registry)
        self.commands = Counter("wnm_commands", "Writes by kind and outcome", ["kind", "status"],
                                registry=self.registry)
        self.latency = Histogram("wnm_command_seconds", "Seconds from a write request to its verdict", ["kind"],
                                 registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        GCCollector(registry=self.registry)  # python_gc_collections_total{generation}: full ones pause the loop
        if system is not None:
            self.registry.register(_ProjectorCollector(system))

    def render(self) -> bytes:
        return generate_latest(self.registry)
