"""Prometheus metrics: definitions (registry), label values (labels), the Redis state read at
scrape time (state_collector), and the worker group's HTTP endpoint (server). See
docs/metrics.md."""
