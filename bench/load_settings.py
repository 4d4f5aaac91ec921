"""Settings of the load benchmark's gunicorn (bench/bench_load.py): the product's settings with
one bench-only URL added (bench/load_urls.py). Never used outside the benchmark."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.load_urls"
