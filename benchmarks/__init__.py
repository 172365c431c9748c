"""One-run comparisons of aicc against onnxruntime, torch eager and numpy (`python -m
benchmarks.run`, or `make bench`); results in benchmarks/RESULTS.md."""
