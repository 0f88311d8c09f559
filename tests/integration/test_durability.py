"""Crash safety and retention on the real server: kill -9, restart, compare with what the
clients saw complete."""

import asyncio
import shutil
import signal
import sqlite3
import time

import pytest
from langgraph_sdk import get_client

pytestmark = pytest.mark.integration

QUESTIONS = [
    "What is Huang Qi used for?", "Where is Zu San Li?", "What is Ba Duan Jin?",
    "What does Gui Zhi Tang treat?", "Who was Huineng?", "What is the horse stance?",
]


def ask(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


async def wait_until_settled(client, thread_id: str, timeout: float = 120) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = await client.runs.list(thread_id)
        if all(run["status"] not in ("pending", "running") for run in runs):
            return runs
        await asyncio.sleep(1)
    raise AssertionError(f"runs of {thread_id} still not settled: {runs}")


@pytest.mark.parametrize("runtime_files", ["kept", "lost"])
async def test_kill_9_loses_no_completed_turn(make_server, runtime_files):
    server = make_server()
    client = get_client(url=server.url)
    seen: dict[str, int] = {}
    for number, question in enumerate(QUESTIONS):
        thread = await client.threads.create(metadata={"n": number})
        values = await client.runs.wait(thread["thread_id"], "wwhd", input=ask(question))
        seen[thread["thread_id"]] = len(values["messages"])
    first = next(iter(seen))
    values = await client.runs.wait(first, "wwhd", input=ask("What are its cautions?"))
    seen[first] = len(values["messages"])

    # A run cut off mid-stream: the kill lands while its events are flowing. With "sync"
    # durability its input checkpoint is on disk before the first step runs, so by the second
    # event the thread has a checkpoint to be rebuilt from.
    cut = (await client.threads.create())["thread_id"]
    events = 0
    async for _part in client.runs.stream(cut, "wwhd", input=ask("What is Dang Gui used for?"),
                                          stream_mode="values", durability="sync"):
        events += 1
        if events == 2:
            server.stop(signal.SIGKILL)
            break
    assert events == 2

    if runtime_files == "lost":
        # The runtime's own thread records gone entirely (the worst case of its 10 s flush
        # window): every thread must come back from the SQLite checkpoints.
        shutil.rmtree(server.data_dir / ".langgraph_api")
    server.start()
    client = get_client(url=server.url)
    listed = {t["thread_id"] for t in await client.threads.search(limit=100)}
    for thread_id, messages in seen.items():
        assert thread_id in listed, f"completed thread {thread_id} lost"
        state = await client.threads.get_state(thread_id)
        assert len(state["values"]["messages"]) >= messages
        assert await client.threads.get_history(thread_id, limit=5)
    if runtime_files == "lost":
        assert "rebuilt" in server.log(tail=None)
    assert cut in listed, "a thread with a checkpoint was lost"
    # Its run was cut off; the runtime requeues it (or it is gone with the lost records), and
    # nothing may hang.
    await wait_until_settled(client, cut)
    # And the threads keep working after the crash.
    more = await client.runs.wait(first, "wwhd", input=ask("Which formula contains it?"))
    assert len(more["messages"]) == seen[first] + 2


async def wait_for(condition, timeout: float = 60, what: str = "the condition"):
    """Poll an async condition (an event we cannot subscribe to) until true or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"{what} did not happen within {timeout:.0f} s")


async def test_retention_keeps_the_database_bounded(make_server):
    server = make_server(
        env={"WWHD_RETENTION_INTERVAL_S": "1", "WWHD_PRUNE_AFTER_S": "0"}
    )
    client = get_client(url=server.url)
    threads = [(await client.threads.create())["thread_id"] for _ in range(2)]
    database = server.data_dir / "checkpoints.sqlite"

    def checkpoints() -> int:
        with sqlite3.connect(database) as conn:
            return conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]

    async def pruned() -> bool:  # one checkpoint per thread: what a retention pass leaves
        return checkpoints() <= len(threads)

    for _ in range(3):
        for thread_id in threads:
            for turn in range(4):
                await client.runs.wait(thread_id, "wwhd", input=ask(QUESTIONS[turn]))
        assert checkpoints() > 2 * len(threads)  # 4 turns leave many checkpoints per thread
        await wait_for(pruned, what="a retention pass")
    state = await client.threads.get_state(threads[0])
    assert len(state["values"]["messages"]) == 24


async def test_threads_idle_past_their_ttl_are_deleted_with_their_checkpoints(make_server):
    # A TTL of 2 s (in days) and a pass every second.
    server = make_server(env={"WWHD_RETENTION_INTERVAL_S": "1",
                              "WWHD_THREAD_TTL_DAYS": str(2 / 86400)})
    client = get_client(url=server.url)
    old = (await client.threads.create())["thread_id"]
    await client.runs.wait(old, "wwhd", input=ask(QUESTIONS[0]))
    database = server.data_dir / "checkpoints.sqlite"

    def checkpoints_of(thread_id: str) -> int:
        with sqlite3.connect(database) as conn:
            return conn.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?",
                                (thread_id,)).fetchone()[0]

    assert checkpoints_of(old) > 0

    async def deleted() -> bool:
        listed = {t["thread_id"] for t in await client.threads.search(limit=100)}
        return old not in listed

    await wait_for(deleted, what="the idle thread's deletion")
    assert checkpoints_of(old) == 0
