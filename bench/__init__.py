"""Linli's benchmarks: ``python -m bench <name>`` (see docs/benchmarks.md).

The harness (registry, server process, wrk runs, medians) is shared by every benchmark;
each benchmark is a module in :mod:`bench.benchmarks` that registers itself by name.
"""
