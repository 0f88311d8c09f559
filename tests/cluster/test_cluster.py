"""The same graphs across replicas: threads, streams, crashes, deploys, double submits, users.

A real cluster: PostgreSQL and Redis (Debian's packages), three replicas of the server in cluster
mode (.venv-cluster, Python 3.12), nginx in front, all on loopback. Auth is on, so per-user
isolation is checked across replicas.

Every request goes to a named replica (`cluster.members[i].url`) where the test is about
crossing replicas, or through the nginx proxy (`cluster.url`) where it is about what a client
behind the load balancer sees.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import jwt
import pytest
from langgraph_sdk import get_sync_client

from devtools.apt import PackagesMissing
from devtools.cluster import Cluster, provision
from devtools.processes import ProcessFailed
from wwhd.server.launch import free_port

GRAPH = "wwhd"
ACTIVE = ("pending", "running")
SECRET = "cluster-test-only-secret-not-used-anywhere-else"
REPLICAS = 3


def token(sub: str) -> str:
    """A valid HS256 token for user `sub`."""
    return jwt.encode({"sub": sub, "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")


@pytest.fixture(scope="module")
def cluster(ingested_template: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Cluster]:
    """Started once: its replicas boot together on a new database."""
    try:
        bin_dir = provision()
    except PackagesMissing as exc:
        pytest.fail(f"the cluster cannot be provisioned: {exc}")
    started = Cluster(root=tmp_path_factory.mktemp("cluster"), kb_template=ingested_template,
                      replicas=REPLICAS, env={"JWT_SECRET": SECRET}, bin_dir=bin_dir)
    try:
        started.start()
    except ProcessFailed as exc:
        pytest.fail(f"the cluster did not start: {exc}")
    yield started
    started.stop()


def client(url: str, user: str = "alice"):
    """The official SDK's sync client for `url`, as `user`."""
    return get_sync_client(url=url, headers={"Authorization": f"Bearer {token(user)}"},
                           timeout=120)


def ask(text: str) -> dict:
    """A run's input: one user message."""
    return {"messages": [{"role": "user", "content": text}]}


def user_texts(state: dict) -> list[str]:
    """The user's messages of a thread's state, in order."""
    return [m["content"] for m in state["values"].get("messages", []) if m["type"] == "human"]


def answers(state: dict) -> list[str]:
    """The assistant's answers of a thread's state, in order."""
    return [m["content"] for m in state["values"].get("messages", []) if m["type"] == "ai"]


def test_replicas_booted_together_share_one_schema_and_default_assistants(cluster: Cluster):
    """All replicas started at once on an empty database; each is ready and they see the
    same default assistant for each graph (a race would have killed one or duplicated them)."""
    seen = set()
    for replica in cluster.members:
        health = httpx.get(f"{replica.url}/health", timeout=10,
                           headers={"Authorization": f"Bearer {token('alice')}"}).json()
        assert health["status"] == "ok", health
        assert health["checkpointer"]["database"] == "postgresql"
        found = client(replica.url).assistants.search(graph_id=GRAPH)
        seen.add(tuple(sorted(a["assistant_id"] for a in found)))
    assert len(seen) == 1 and len(next(iter(seen))) == 1, seen


def test_thread_continues_on_another_replica_with_its_history(cluster: Cluster):
    first, second, third = (client(replica.url) for replica in cluster.members)
    thread = first.threads.create()
    first.runs.wait(thread["thread_id"], GRAPH, input=ask("What is Huang Qi used for?"))
    # The follow-up names no herb: only the history the other replica reads makes it one.
    second.runs.wait(thread["thread_id"], GRAPH, input=ask("What are its cautions?"))
    state = third.threads.get_state(thread["thread_id"])
    assert user_texts(state) == ["What is Huang Qi used for?", "What are its cautions?"]
    assert len(answers(state)) == 2
    assert "huang qi" in answers(state)[1].lower(), answers(state)[1]
    history = third.threads.get_history(thread["thread_id"], limit=50)
    assert len(history) >= 4  # checkpoints of both turns, written by two replicas


def test_stream_joined_through_another_replica_receives_every_event(cluster: Cluster):
    first, second = client(cluster.members[0].url), client(cluster.members[1].url)
    thread = first.threads.create()
    run = first.runs.create(thread["thread_id"], GRAPH, input=ask("Where is the acupoint He Gu?"),
                            stream_mode=["values", "updates"])
    events = list(second.runs.join_stream(thread["thread_id"], run["run_id"],
                                          stream_mode=["values", "updates"]))
    kinds = [event.event for event in events]
    assert "values" in kinds and "updates" in kinds, kinds
    final = [event.data for event in events if event.event == "values"][-1]
    state = second.threads.get_state(thread["thread_id"])
    # The last values event is the thread's final state: nothing after it was missed.
    assert final["messages"][-1]["content"] == state["values"]["messages"][-1]["content"]
    assert second.runs.get(thread["thread_id"], run["run_id"])["status"] == "success"


def test_double_submit_with_reject_refuses_the_second_and_loses_nothing(cluster: Cluster):
    first, second = client(cluster.members[0].url), client(cluster.members[1].url)
    thread = first.threads.create()
    run = first.runs.create(thread["thread_id"], GRAPH, input=ask("What is Dang Gui used for?"),
                            multitask_strategy="reject")
    response = httpx.post(
        f"{cluster.members[1].url}/threads/{thread['thread_id']}/runs",
        headers={"Authorization": f"Bearer {token('alice')}"},
        json={"assistant_id": GRAPH, "input": ask("And Gan Cao?"),
              "multitask_strategy": "reject"}, timeout=30)
    assert response.status_code == 409, response.text
    assert "reject" in response.text and "enqueue" in response.text  # says what to do
    first.runs.join(thread["thread_id"], run["run_id"])
    state = second.threads.get_state(thread["thread_id"])
    assert user_texts(state) == ["What is Dang Gui used for?"]
    assert len(answers(state)) == 1


def test_concurrent_double_submits_with_enqueue_keep_both_turns(cluster: Cluster):
    """Aegra alone ran both from the same checkpoint and one turn was lost (20 of 20 trials)."""
    clients = [client(replica.url) for replica in cluster.members[:2]]
    for trial in range(3):
        thread = clients[0].threads.create()
        questions = [f"What is Huang Qi used for? ({trial})",
                     f"What is Ren Shen used for? ({trial})"]
        barrier = threading.Barrier(2)

        def submit(index: int, thread_id: str = thread["thread_id"],
                   barrier: threading.Barrier = barrier, questions: list[str] = questions) -> dict:
            barrier.wait()
            return clients[index].runs.create(thread_id, GRAPH, input=ask(questions[index]),
                                              multitask_strategy="enqueue")

        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(submit, range(2)))
        for run in runs:
            clients[1].runs.join(thread["thread_id"], run["run_id"])
        state = clients[0].threads.get_state(thread["thread_id"])
        assert sorted(user_texts(state)) == sorted(questions), user_texts(state)
        assert len(answers(state)) == 2
        # One turn after the other: each answer follows its own question.
        messages = state["values"]["messages"]
        assert [m["type"] for m in messages] == ["human", "ai", "human", "ai"]


@pytest.mark.parametrize("strategy", ["interrupt", "rollback"])
def test_interrupt_stops_the_earlier_turn_and_answers_the_new_one(cluster: Cluster,
                                                                  strategy: str):
    first, second = client(cluster.members[0].url), client(cluster.members[1].url)
    thread = first.threads.create()
    earlier = first.runs.create(thread["thread_id"], GRAPH, input=ask("What is Huang Qi used for?"))
    # Sent while the earlier run is pending or running (it takes about half a second).
    later = second.runs.create(thread["thread_id"], GRAPH, input=ask("What is Gan Cao used for?"),
                               multitask_strategy=strategy)
    second.runs.join(thread["thread_id"], later["run_id"])
    assert first.runs.get(thread["thread_id"], earlier["run_id"])["status"] == "interrupted"
    state = first.threads.get_state(thread["thread_id"])
    assert user_texts(state)[-1] == "What is Gan Cao used for?"
    assert state["values"]["messages"][-1]["type"] == "ai"
    assert "gan cao" in answers(state)[-1].lower()


def test_users_are_isolated_across_replicas(cluster: Cluster):
    alice, bob = client(cluster.members[0].url, "alice"), client(cluster.members[1].url, "bob")
    thread = alice.threads.create(metadata={"topic": "private"})
    alice.runs.wait(thread["thread_id"], GRAPH, input=ask("What is Gou Qi Zi used for?"))
    with pytest.raises(httpx.HTTPStatusError) as denied:
        bob.threads.get_state(thread["thread_id"])
    assert denied.value.response.status_code == 404
    assert thread["thread_id"] not in {t["thread_id"] for t in bob.threads.search(limit=100)}
    anonymous = httpx.get(f"{cluster.members[2].url}/threads/{thread['thread_id']}", timeout=10)
    assert anonymous.status_code == 401


def _run_on(cluster: Cluster, run_id: str, timeout_s: float = 60) -> int:
    """The index of the replica whose worker picked the run up (from its log)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for index in range(len(cluster.members)):
            if any(run_id in line and "picked up run" in line
                   for line in cluster.log(index, chars=200_000).splitlines()):
                return index
        time.sleep(0.05)
    raise AssertionError(f"no replica picked up run {run_id}")


def _question_checkpointed_first(reader, thread_id: str, run_id: str) -> bool:
    """Wait until the run's question is in the thread's state; False if the run ended first."""
    while reader.runs.get(thread_id, run_id)["status"] in ACTIVE:
        if len(user_texts(reader.threads.get_state(thread_id))) == 2:
            return True
    return False


def test_kill_9_of_the_replica_running_a_turn_loses_no_turn(cluster: Cluster):
    proxy = client(cluster.url)
    for _attempt in range(3):
        thread = proxy.threads.create()
        proxy.runs.wait(thread["thread_id"], GRAPH, input=ask("What is Huang Qi used for?"))
        run = proxy.runs.create(thread["thread_id"], GRAPH, input=ask("What is Ren Shen used for?"))
        victim = _run_on(cluster, run["run_id"])
        survivor = client(cluster.members[(victim + 1) % REPLICAS].url)
        # Killed once the turn's question is checkpointed and before its answer is: the case
        # where running it again from its input would repeat the question.
        if _question_checkpointed_first(survivor, thread["thread_id"], run["run_id"]):
            break
    else:
        pytest.fail("the turn finished each time before it could be killed mid-way")
    cluster.kill(victim)
    try:
        state = survivor.threads.get_state(thread["thread_id"])
        assert user_texts(state)[0] == "What is Huang Qi used for?"  # the completed turn
        # The cut turn is not lost: Aegra's lease reaper hands its run to another replica once
        # the lease (30 s) expires, which runs it again.
        deadline = time.monotonic() + 120
        while survivor.runs.get(thread["thread_id"], run["run_id"])["status"] in ACTIVE:
            assert time.monotonic() < deadline, "the killed run stayed active"
            time.sleep(1)
        assert survivor.runs.get(thread["thread_id"], run["run_id"])["status"] == "success"
        state = survivor.threads.get_state(thread["thread_id"])
        # Once, and answered.
        assert user_texts(state) == ["What is Huang Qi used for?", "What is Ren Shen used for?"]
        assert [m["type"] for m in state["values"]["messages"]] == ["human", "ai", "human", "ai"]
        assert "ren shen" in answers(state)[1].lower()
        # The thread stays usable through the proxy (nginx stops sending to the dead replica
        # after one refused connection; that request may answer 502).
        final = None
        for _attempt in range(5):
            try:
                final = proxy.runs.wait(thread["thread_id"], GRAPH,
                                        input=ask("What is Gan Cao used for?"))
                break
            except httpx.HTTPStatusError as exc:
                assert exc.response.status_code == 502, exc.response.text
        assert final is not None and "gan cao" in final["messages"][-1]["content"].lower()
    finally:
        cluster.restart(victim)


def test_rolling_restart_under_load_fails_no_request_and_loses_no_turn(cluster: Cluster):
    """Steady conversations through the proxy while every replica is replaced in turn."""
    stop = threading.Event()
    failures: list[str] = []
    conversations: list[tuple[int, int]] = []  # (worker, turns)

    def converse(worker: int) -> None:
        proxy = client(cluster.url, user=f"load-{worker}")
        while not stop.is_set():
            thread = proxy.threads.create()
            turns = 0
            for question in ("What is Huang Qi used for?", "What are its cautions?"):
                try:
                    proxy.runs.wait(thread["thread_id"], GRAPH, input=ask(question))
                    turns += 1
                except Exception as exc:  # any failure counts; the test reports them all
                    failures.append(f"{type(exc).__name__}: {exc}")
            conversations.append((worker, turns))

    def finished_at_least(count: int) -> None:
        deadline = time.monotonic() + 120
        while len(conversations) < count and not failures:
            assert time.monotonic() < deadline, "the load stopped making progress"
            time.sleep(0.1)

    with ThreadPoolExecutor(2) as pool:
        workers = [pool.submit(converse, index) for index in range(2)]
        finished_at_least(2)  # the load is running before the first replica goes
        cluster.rolling_restart()
        finished_at_least(len(conversations) + 2)  # and still runs on the new replicas
        stop.set()
        for worker in workers:
            worker.result()
    assert not failures, failures
    assert len(conversations) >= 4 and all(turns == 2 for _, turns in conversations)
    for worker in range(2):
        reader = client(cluster.members[0].url, user=f"load-{worker}")
        threads = reader.threads.search(limit=100)
        assert len(threads) == sum(1 for name, _ in conversations if name == worker)
        for thread in threads:
            state = reader.threads.get_state(thread["thread_id"])
            assert len(user_texts(state)) == 2 and len(answers(state)) == 2, state["values"]


def test_a_replica_whose_database_is_down_refuses_to_start_saying_so(cluster: Cluster,
                                                                      tmp_path: Path):
    closed = f"postgresql://postgres:pw-visible@127.0.0.1:{free_port()}/wwhd"
    result = subprocess.run(
        [str(cluster.bin_dir / "wwhd"), "serve", "--port", "0", "--no-ingest"],
        env={**os.environ, "DATABASE_URL": closed, "REDIS_URL": cluster.redis_url,
             "WWHD_DATA_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Start PostgreSQL or fix DATABASE_URL" in result.stderr, result.stderr
    assert "pw-visible" not in result.stderr and "Traceback" not in result.stderr
