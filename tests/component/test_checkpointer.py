"""The server's SQLite checkpointer on a real file: thread copy, run deletion, pruning, and the
saver's table layout that durability and retention read with SQL."""

import sqlite3
import uuid

from langgraph.checkpoint.base import empty_checkpoint
from langgraph.graph import START, StateGraph
from typing_extensions import TypedDict

from wwhd.server.checkpointer import open_checkpointer
from wwhd.server.durability import newest_checkpoints, thread_metadata


class Counter(TypedDict):
    n: int
    note: str


def counting_graph(saver):
    def step(state: Counter) -> dict:
        return {"n": state.get("n", 0) + 1}

    return StateGraph(Counter).add_node("step", step).add_edge(START, "step").compile(
        checkpointer=saver
    )


def config(thread_id: str, run_id: str | None = None) -> dict:
    return {"configurable": {"thread_id": thread_id},
            "metadata": {"run_id": run_id or str(uuid.uuid4()), "owner": "ada"}}


async def history(saver, thread_id: str) -> list:
    return [c async for c in saver.alist({"configurable": {"thread_id": thread_id}})]


async def test_a_copied_thread_has_the_same_state_history_and_writes(tmp_path):
    async with open_checkpointer(tmp_path / "c.sqlite") as saver:
        graph = counting_graph(saver)
        source, target = str(uuid.uuid4()), str(uuid.uuid4())
        for _ in range(3):
            await graph.ainvoke({"note": "x"}, config(source))
        await saver.acopy_thread(source, target)
        copied = await graph.aget_state({"configurable": {"thread_id": target}})
        assert copied.values == {"n": 3, "note": "x"}
        assert len(await history(saver, target)) == len(await history(saver, source))
        # The copy is a thread of its own: it goes on without touching the source.
        await graph.ainvoke({"note": "y"}, config(target))
        original = await graph.aget_state({"configurable": {"thread_id": source}})
        assert original.values["n"] == 3
        assert (await graph.aget_state({"configurable": {"thread_id": target}})).values["n"] == 4


async def test_deleting_a_runs_checkpoints_rolls_the_thread_back(tmp_path):
    async with open_checkpointer(tmp_path / "c.sqlite") as saver:
        graph = counting_graph(saver)
        thread = str(uuid.uuid4())
        await graph.ainvoke({"note": "kept"}, config(thread, "run-1"))
        before = len(await history(saver, thread))
        await graph.ainvoke({"note": "rolled back"}, config(thread, "run-2"))
        await saver.adelete_for_runs(["run-2"])
        state = await graph.aget_state({"configurable": {"thread_id": thread}})
        assert state.values == {"n": 1, "note": "kept"}
        assert len(await history(saver, thread)) == before


async def test_pruning_keeps_only_the_newest_checkpoint_and_the_state(tmp_path):
    path = tmp_path / "c.sqlite"
    async with open_checkpointer(path) as saver:
        graph = counting_graph(saver)
        kept, pruned = str(uuid.uuid4()), str(uuid.uuid4())
        for thread in (kept, pruned):
            for _ in range(4):
                await graph.ainvoke({"note": "x"}, config(thread))
        await saver.aprune([pruned], strategy="keep_latest")
        assert len(await history(saver, pruned)) == 1
        assert len(await history(saver, kept)) > 4
        assert (await graph.aget_state({"configurable": {"thread_id": pruned}})).values["n"] == 4
        await saver.aprune([pruned], strategy="delete_all")
        assert await history(saver, pruned) == []


async def test_the_saver_tables_are_what_durability_reads(tmp_path):
    path = tmp_path / "c.sqlite"
    async with open_checkpointer(path) as saver:
        thread = str(uuid.uuid4())
        await counting_graph(saver).ainvoke({"note": "x"}, config(thread))
        await saver.aput(
            {"configurable": {"thread_id": "other", "checkpoint_ns": ""}}, empty_checkpoint(),
            {"source": "input", "step": -1, "owner": "bob"}, {},
        )
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(checkpoints)")}
    assert {"thread_id", "checkpoint_ns", "checkpoint_id", "metadata"} <= columns
    newest = newest_checkpoints(path)
    assert set(newest) == {thread, "other"}
    assert thread_metadata(newest[thread][1]) == {"owner": "ada"}
    assert thread_metadata(newest["other"][1]) == {"owner": "bob"}
