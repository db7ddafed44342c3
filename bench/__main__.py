"""``python -m bench <name> [options]`` runs a benchmark; ``python -m bench --list`` lists them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bench import registry


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the named benchmark."""
    benchmarks = registry.load()
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run a Linli benchmark (see docs/benchmarks.md).",
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    sub = parser.add_subparsers(dest="name", metavar="NAME")
    for benchmark in benchmarks.values():
        benchmark.configure(
            sub.add_parser(benchmark.name, help=benchmark.summary, description=benchmark.summary)
        )
    args = parser.parse_args(argv)
    if args.list:
        width = max((len(name) for name in benchmarks), default=0)
        for benchmark in benchmarks.values():
            print(f"{benchmark.name.ljust(width)}  {benchmark.summary}")
        return 0
    if args.name is None:
        parser.error("name a benchmark (see --list)")
    return benchmarks[args.name].run(args)


if __name__ == "__main__":
    sys.exit(main())
