"""Benchmarks: `make bench` runs every module here whose name does not start with `_`
(`python -m bench.<name>`); results and the machine they ran on go in bench/RESULTS.md."""
