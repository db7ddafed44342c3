"""The benchmarks: every module here registers one with :func:`bench.registry.register`."""
