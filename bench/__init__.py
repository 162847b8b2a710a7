"""Re-runnable benchmarks behind the figures in the README (`python -m bench.run`)."""
