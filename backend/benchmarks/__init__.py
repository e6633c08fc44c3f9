"""Benchmarks: `make bench-api` (API latency on 500,000 products), `make bench-webhooks`."""
