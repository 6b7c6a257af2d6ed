"""Rollout benchmarking helpers for vLLM."""
