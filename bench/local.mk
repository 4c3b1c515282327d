# benchmarks (bench/run)
