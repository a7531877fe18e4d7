"""Races for the concurrency programs: jobs in threads, released at the same instant."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def release_together(jobs: list[Callable[[], None]]) -> list[BaseException]:
    """Run each job in its own thread, all started by one barrier; the errors they raised."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as error:  # reported by the caller, never swallowed
            errors.append(error)
        finally:
            connection.close()  # each thread has its own database connection

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
