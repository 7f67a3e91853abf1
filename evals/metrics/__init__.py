"""Metric functions, each small and pure."""
