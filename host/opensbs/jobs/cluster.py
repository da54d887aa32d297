"""Where tile jobs run: this process, a local Dask cluster, or an existing one."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec

import dask
from distributed import Client, LocalCluster

CONNECT_TIMEOUT_S = 10
# Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's adaptive mmap
# threshold: every large numpy temporary is then mapped and faulted in afresh, and a tile
# costs ~1.7x the CPU it takes in one process (measured). Tile memory is bounded, so local
# workers keep glibc's default.
NO_MALLOC_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


class ClusterError(Exception):
    """The Dask scheduler cannot be reached or the local cluster cannot start."""


@contextmanager
def dask_client(scheduler: str | None, workers: int) -> Iterator[Client]:
    """A client of the cluster at ``scheduler``, or of a new local cluster of ``workers``
    single-threaded worker processes (closed on exit)."""
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            try:
                client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
            except TimeoutError:
                raise ClusterError(f"the Dask cluster at {scheduler} has no workers") from None
            yield client
        return
    try:
        with dask.config.set({NO_MALLOC_TRIM: None}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.ERROR)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot start a local Dask cluster of {workers} workers: {exc}"
                           ) from None
    with cluster, Client(cluster) as client:
        yield client


def dashboard_link(client: Client, local: bool) -> str | None:
    """The scheduler's dashboard address, if it serves one (a local scheduler needs bokeh;
    a remote one is assumed to have it)."""
    if "dashboard" not in client.scheduler_info().get("services", {}):
        return None
    return client.dashboard_link if not local or find_spec("bokeh") else None
