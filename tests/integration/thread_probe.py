"""A task that only the thread-limit test loads into its worker (`celery worker --include`):
it writes the BLAS/OpenMP thread pools of the pool process that runs it to a file."""

from __future__ import annotations

import json
import os

from celery import shared_task


@shared_task(ignore_result=True)
def report_thread_pools(path: str) -> None:
    from threadpoolctl import threadpool_info

    pools = [
        {"api": pool["internal_api"], "threads": pool["num_threads"]} for pool in threadpool_info()
    ]
    with open(path, "w") as out:
        json.dump({"pid": os.getpid(), "pools": pools}, out)
