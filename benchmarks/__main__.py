"""`make bench`: every benchmark, one after the other, each comparing within its own run."""

from benchmarks import (
    bench_batch,
    bench_edge,
    bench_log_writer,
    bench_request_path,
    bench_scoring,
)

for module in (bench_log_writer, bench_request_path, bench_scoring, bench_edge, bench_batch):
    print(f"== {module.__name__}")
    module.main([])
