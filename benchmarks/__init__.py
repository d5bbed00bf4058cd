"""Speed and memory measurements; each module runs with `python -m benchmarks.<name>`."""
