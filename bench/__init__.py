"""Benchmarks: each bench/bench_*.py is a script that prints its figures."""
