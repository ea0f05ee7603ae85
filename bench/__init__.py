"""Fleet generator and benchmarks."""
