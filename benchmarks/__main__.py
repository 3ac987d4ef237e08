"""`make bench`: every benchmark, one after the other, each comparing within its own run."""

from benchmarks import (
    bench_batch,
    bench_edge,
    bench_log_writer,
    bench_logstore_scale,
    bench_request_path,
    bench_scoring,
    bench_serving,
    bench_sustained,
    bench_workers,
    probe_edge,
)

MODULES = (
    bench_log_writer,
    bench_logstore_scale,  # 10k to 10M rows per store: seeding 10M takes minutes
    bench_request_path,
    bench_scoring,
    bench_edge,
    bench_serving,
    bench_workers,
    bench_batch,
    probe_edge,
    bench_sustained,  # 10 minutes of full load
)
for module in MODULES:
    print(f"== {module.__name__}")
    module.main([])
