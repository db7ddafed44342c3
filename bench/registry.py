"""Benchmarks by name: each module in :mod:`bench.benchmarks` registers its own."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

Configure = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Benchmark:
    """A named benchmark: its options and the function that runs it (returns an exit code)."""

    name: str
    summary: str
    configure: Configure
    run: Run


_BENCHMARKS: dict[str, Benchmark] = {}


def register(name: str, summary: str, configure: Configure) -> Callable[[Run], Run]:
    """Register the decorated function as the benchmark ``name``."""

    def decorate(run: Run) -> Run:
        if name in _BENCHMARKS:
            raise ValueError(f"benchmark {name!r} registered twice")
        _BENCHMARKS[name] = Benchmark(name=name, summary=summary, configure=configure, run=run)
        return run

    return decorate


def load() -> dict[str, Benchmark]:
    """Import every module of :mod:`bench.benchmarks`; return the benchmarks by name."""
    package = importlib.import_module("bench.benchmarks")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    return dict(sorted(_BENCHMARKS.items()))
