"""Predictions of every configuration: one JSONL line per test encounter, written resumably (see store.py)."""
