"""symdiff's benchmark suite: `python -m benchmarks --quick` (see benchmarks/README.md)."""
