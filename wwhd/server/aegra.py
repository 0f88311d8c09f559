"""The one place that touches Aegra's internals: the cluster engine's gaps, closed in wwhd.

Aegra (aegra-api, Apache-2.0) serves the LangGraph HTTP API from PostgreSQL and Redis across
replicas (wwhd/server/cluster.py starts it). Measured on 0.11.0 (../shared/design.md,
"Multi-replica"), three of its behaviours lose work or time; each is fixed here by wrapping the
upstream functions concerned, and `check_supported_version()` refuses any other aegra-api
release, so an upgrade is a deliberate step (tests/cluster/ check the behaviours end to end):

- **`multitask_strategy` is ignored**: two runs sent to one thread at once both execute from the
  same checkpoint, and one turn is lost. Here every run takes a PostgreSQL advisory lock on its
  thread for as long as it executes, so runs on one thread execute one at a time on any replica
  (`enqueue`, the default). Creating a run takes a second, short lock on the thread, under which
  `reject` refuses with 409 while another run is pending or running, and `interrupt` and
  `rollback` interrupt it (the new run then waits for it to stop; `rollback` keeps what the
  interrupted run had written, unlike langgraph-api, which deletes it).
- **`runs/wait` polls every 2 s** (`WorkerExecutor.wait_for_completion`): here the run's done
  key is polled every `WAIT_POLL_S`, and the run record (the fallback when Redis lost the key)
  every `WAIT_DB_POLL_S`.
- **Replicas booting together on a new database race** on the schema (alembic), the
  checkpointer's and store's tables and the default assistants: each of those three start-up
  steps runs under one PostgreSQL advisory lock, so replicas take turns.

The locks are held on connections of their own (asyncpg, outside Aegra's pools): a replica that
dies, even by SIGKILL, loses its connections and PostgreSQL releases its locks with them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import metadata
from typing import Any

from wwhd.core.errors import UnsupportedUpstream

log = logging.getLogger(__name__)

SUPPORTED_VERSION = "0.11.0"
WAIT_POLL_S = 0.05
WAIT_DB_POLL_S = 1.0
LOCK_POLL_S = 0.05
ACTIVE = ("pending", "running")
# Advisory-lock keys: a text hashed by PostgreSQL (`hashtextextended`), one namespace each.
BOOT_LOCK = "wwhd:boot"
RUN_LOCK_PREFIX = "wwhd:run:"
CREATE_LOCK_PREFIX = "wwhd:create:"
CONFLICT_HINT = (
    "send it again when that run has finished (join it, or poll the thread's status), or send "
    "it with multitask_strategy 'enqueue' to run after it"
)


def check_supported_version() -> None:
    """Raise UnsupportedUpstream unless the installed aegra-api is the one read here."""
    try:
        found = metadata.version("aegra-api")
    except metadata.PackageNotFoundError as exc:
        raise UnsupportedUpstream(
            "DATABASE_URL and REDIS_URL are set (cluster mode), which needs aegra-api, and it is "
            "not installed in this environment: serve from .venv-cluster (Python 3.12; `python "
            "-m devtools.cluster provision` or `make cluster` builds it), e.g. "
            "`.venv-cluster/bin/wwhd serve`, or unset both for the single-process server"
        ) from exc
    if found != SUPPORTED_VERSION:
        raise UnsupportedUpstream(
            f"aegra-api {found} is installed, but wwhd.server.aegra was written for "
            f"{SUPPORTED_VERSION}: install requirements-cluster.lock, or re-read the functions "
            "it wraps (see its docstring) and run `make test-cluster` before changing "
            "SUPPORTED_VERSION"
        )


def postgres_dsn(database_url: str) -> str:
    """The URL as asyncpg takes it (Aegra accepts SQLAlchemy's `postgresql+asyncpg://`)."""
    scheme, sep, rest = database_url.partition("://")
    return f"{scheme.split('+')[0]}{sep}{rest}" if sep else database_url


@contextlib.asynccontextmanager
async def advisory_lock(database_url: str, key: str) -> AsyncIterator[None]:
    """Hold PostgreSQL's session advisory lock for `key` on a connection of its own; closing
    the connection releases it, however this block ends.

    It is asked for with `pg_try_advisory_lock` every `LOCK_POLL_S`, not waited for inside one
    statement: a waiting statement keeps a transaction open, and Aegra's migrations build
    indexes CONCURRENTLY, which wait for every open transaction, so a replica waiting for the
    start-up lock and the replica migrating under it would wait for each other for ever
    (measured: three replicas booting together hung)."""
    import asyncpg  # an Aegra dependency: present wherever cluster mode runs

    connection = await asyncpg.connect(postgres_dsn(database_url))
    try:
        while not await connection.fetchval(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", key):
            await asyncio.sleep(LOCK_POLL_S)
        yield
    finally:
        await connection.close()


def _serialised_by_thread(execute_run: Callable[[Any], Awaitable[None]], database_url: str):
    @functools.wraps(execute_run)
    async def execute_one_at_a_time(job: Any) -> None:
        thread_id = job.identity.thread_id
        if not thread_id:
            return await execute_run(job)
        async with advisory_lock(database_url, RUN_LOCK_PREFIX + str(thread_id)):
            return await execute_run(job)

    return execute_one_at_a_time


def _with_strategy(prepare_run: Callable[..., Awaitable[Any]],
                   interrupt: Callable[..., Awaitable[Any]]):
    from aegra_api.core.orm import Run as RunORM
    from fastapi import HTTPException
    from sqlalchemy import select, text

    @functools.wraps(prepare_run)
    async def prepare_with_strategy(session: Any, thread_id: str, request: Any, *args: Any,
                                    **kwargs: Any) -> Any:
        # Held until the new run's record commits (inside prepare_run), so two requests on one
        # thread see each other's runs.
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                              {"key": CREATE_LOCK_PREFIX + str(thread_id)})
        strategy = request.multitask_strategy or "enqueue"
        if strategy != "enqueue":
            active = (await session.scalars(
                select(RunORM).where(RunORM.thread_id == thread_id, RunORM.status.in_(ACTIVE))
            )).all()
            if active and strategy == "reject":
                raise HTTPException(
                    409,
                    f"thread {thread_id} is busy with run {active[0].run_id} and the run was sent "
                    f"with multitask_strategy 'reject': {CONFLICT_HINT}",
                )
            for run in active:  # interrupt, rollback
                await interrupt(session, run, "interrupt")
        return await prepare_run(session, thread_id, request, *args, **kwargs)

    return prepare_with_strategy


async def _wait_for_completion(self: Any, run_id: str, *, timeout: float = 300.0) -> None:
    """Aegra's `WorkerExecutor.wait_for_completion` with `WAIT_POLL_S` between looks."""
    from aegra_api.core.redis_manager import redis_manager
    from aegra_api.services import worker_executor
    from aegra_api.settings import settings
    from redis.exceptions import RedisError

    done_key = f"{settings.redis.REDIS_CHANNEL_PREFIX}done:{run_id}"
    client = redis_manager.get_client()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    next_db_look = loop.time() + WAIT_DB_POLL_S
    while loop.time() < deadline:
        try:
            if await client.exists(done_key):
                return
        except RedisError:
            pass
        # The record is the fallback for a done key that was never set (Redis was down).
        if loop.time() >= next_db_look:
            if await worker_executor._is_run_terminal(run_id):
                return
            next_db_look = loop.time() + WAIT_DB_POLL_S
        await asyncio.sleep(WAIT_POLL_S)
    raise TimeoutError(f"Run {run_id} did not complete within {timeout}s")


def _one_replica_at_a_time(step: Callable[..., Awaitable[Any]], database_url: str):
    @functools.wraps(step)
    async def locked_step(*args: Any, **kwargs: Any) -> Any:
        async with advisory_lock(database_url, BOOT_LOCK):
            return await step(*args, **kwargs)

    return locked_step


def install(database_url: str) -> None:
    """Wrap Aegra's functions as the module docstring says. Call before `aegra_api.main` is
    imported (it binds `run_migrations_async` by name at import). Idempotent."""
    check_supported_version()
    from aegra_api.api import runs as runs_api
    from aegra_api.core import database, migrations
    from aegra_api.services import (
        cron_scheduler,
        langgraph_service,
        run_preparation,
        worker_executor,
    )

    if getattr(run_preparation, "_wwhd_installed", False):
        return
    original_prepare = run_preparation._prepare_run
    prepare = _with_strategy(original_prepare, runs_api._request_run_interruption)
    # Each module that bound the name at import gets the wrapper.
    for module in (run_preparation, runs_api, cron_scheduler):
        if getattr(module, "_prepare_run", None) is original_prepare:
            module._prepare_run = prepare
    worker_executor.execute_run = _serialised_by_thread(worker_executor.execute_run, database_url)
    worker_executor.WorkerExecutor.wait_for_completion = _wait_for_completion
    migrations.run_migrations_async = _one_replica_at_a_time(migrations.run_migrations_async,
                                                             database_url)
    database.DatabaseManager.initialize = _one_replica_at_a_time(
        database.DatabaseManager.initialize, database_url)
    langgraph_service.LangGraphService.initialize = _one_replica_at_a_time(
        langgraph_service.LangGraphService.initialize, database_url)
    run_preparation._wwhd_installed = True
    log.info("aegra %s: multitask strategies, runs/wait and start-up locks installed",
             SUPPORTED_VERSION)
