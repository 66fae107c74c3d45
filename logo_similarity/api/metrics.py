"""Prometheus metrics of one app instance (own registry, so several apps in one process do not collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("logo_sim_requests", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("logo_sim_request_seconds", "HTTP request latency by route", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.stage = Histogram("logo_sim_search_stage_seconds", "time per search stage", ["stage"],
                               buckets=LATENCY_BUCKETS, registry=self.registry)
        self.busy = Counter("logo_sim_rejected_busy", "searches refused with 503 (in-flight limit)",
                            registry=self.registry)
        self.in_flight = Gauge("logo_sim_searches_in_flight", "searches admitted and not finished",
                               registry=self.registry)
        self.items = Gauge("logo_sim_index_items", "items in the live index", registry=self.registry)
        self.swaps = Gauge("logo_sim_index_swaps", "index versions switched to since start", registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
