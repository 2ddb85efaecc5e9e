"""Tern's benchmark suite: `make bench` (python -m bench). See docs/benchmarks.md."""
