"""Cost: the time and memory estimate, measured rates, the benchmark, devices."""
