"""The embedded knowledge base on a real qdrant-edge shard in a temporary folder: writes, searches,
filters, persistence, the folder lock, threads, migration from the earlier embedded store, and
LangChain's vector-store interface over it."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from wwhd.core.errors import EmbeddingMismatch, StoreUnavailable
from wwhd.core.settings import load_settings
from wwhd.tools.edge_store import EdgeKnowledgeBase
from wwhd.tools.embeddings import E5Embeddings
from wwhd.tools.ingest import ingest_directory
from wwhd.tools.knowledge import point_id
from wwhd.tools.store import QdrantKnowledgeBase, close_all, open_knowledge_base

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "corpus"
SAMPLE = ["herbs/herb-huang-qi.md", "herbs/herb-dang-gui.md", "shaolin/shaolin-practice-stances.md"]


@pytest.fixture
def docs(tmp_path) -> Path:
    folder = tmp_path / "docs"
    for name in SAMPLE:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / name, target)
    return folder


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("WWHD_DATA_DIR", str(data))
    yield data
    close_all()


def open_edge() -> EdgeKnowledgeBase:
    kb = open_knowledge_base(load_settings())
    assert isinstance(kb, EdgeKnowledgeBase)
    return kb


def ids(sources) -> list[str]:
    return [s["id"] for s in sources]


def test_the_embedded_default_is_an_edge_shard_with_its_model_beside_it(data_dir, docs):
    kb = open_edge()
    assert not kb.exists() and kb.count() == 0 and kb.search("Huang Qi") == []
    assert kb.stored_chunks() == []
    report = ingest_directory(kb, docs, progress=False)
    assert kb.location == f"embedded:{data_dir / 'qdrant-edge'}"
    assert (data_dir / "qdrant-edge" / "wwhd_kb" / "edge_config.json").is_file()
    assert kb.collection_metadata() == {
        "collection": "wwhd_kb", "embedding_model": kb.dense_model, "embedding_dimensions": 384,
    }
    assert kb.count() == report.chunks_total > 0
    hits = kb.search("What is Huang Qi used for?", k=3)
    assert hits[0]["doc_id"] == "herb-huang-qi"
    # The title line embedded with the passage is not part of the text returned.
    assert not hits[0]["text"].startswith(hits[0]["title"])
    assert all(h["tradition"] == "shaolin" for h in kb.search("Huang Qi", k=5, tradition="shaolin"))
    assert all(h["category"] == "herb" for h in kb.search("stance", k=5, category="herb"))
    assert kb.search("stance", k=5, tradition="shaolin", category="herb") == []


def test_set_origin_and_delete_change_what_is_stored(data_dir, docs):
    kb = open_edge()
    ingest_directory(kb, docs, progress=False)
    stored = kb.stored_chunks()
    dang_gui = [c for c in stored if c.doc_id == "herb-dang-gui"]
    assert all(c.point_id == point_id(c.chunk_id) for c in stored)

    kb.set_origin([c.point_id for c in dang_gui], "s3://bucket/kb/dang-gui.md", "etag-1")
    moved = {c.chunk_id: c for c in kb.stored_chunks() if c.doc_id == "herb-dang-gui"}
    assert {(c.uri, c.source_version) for c in moved.values()} == {
        ("s3://bucket/kb/dang-gui.md", "etag-1")}
    # set_origin merges into the metadata: the rest of the payload is still there.
    assert kb.search("Dang Gui", k=1)[0]["title"].startswith("Dang Gui")

    kb.delete(c.point_id for c in dang_gui)
    assert kb.count() == len(stored) - len(dang_gui)
    assert all(h["doc_id"] != "herb-dang-gui" for h in kb.search("Dang Gui blood", k=10))


def test_what_was_written_is_there_after_closing_and_reopening(data_dir, docs):
    kb = open_edge()
    ingest_directory(kb, docs, progress=False)
    before = kb.search("stance training for the legs", k=4)
    count = kb.count()
    close_all()
    with pytest.raises(StoreUnavailable, match="was closed"):
        kb.search("anything")
    again = open_edge()
    assert again is not kb
    assert again.count() == count
    assert again.search("stance training for the legs", k=4) == before
    assert ingest_directory(again, docs, progress=False).chunks_unchanged == count


def test_writes_survive_a_process_killed_without_closing(data_dir, docs):
    # No close, no atexit: what a SIGKILL or a container OOM leaves behind.
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from wwhd.core.settings import load_settings\n"
        "from wwhd.tools.ingest import ingest_directory\n"
        "from wwhd.tools.store import open_knowledge_base\n"
        "kb = open_knowledge_base(load_settings())\n"
        "report = ingest_directory(kb, Path(sys.argv[1]), progress=False)\n"
        "print(report.chunks_total, flush=True)\n"
        "os._exit(9)\n"
    )
    killed = subprocess.run([sys.executable, "-c", script, str(docs)], capture_output=True,
                            text=True, timeout=300, cwd=REPO)
    assert killed.returncode == 9, killed.stderr[-2000:]
    kb = open_edge()  # the lock died with the process
    assert kb.count() == int(killed.stdout.split()[-1]) > 0
    assert kb.search("What is Huang Qi used for?", k=1)[0]["doc_id"] == "herb-huang-qi"


def test_a_second_process_is_told_the_store_is_in_use_and_what_to_do(data_dir, docs):
    kb = open_edge()
    ingest_directory(kb, docs, progress=False)
    probe = (
        "from wwhd.core.settings import load_settings\n"
        "from wwhd.tools.store import open_knowledge_base\n"
        "print(open_knowledge_base(load_settings()).count())\n"
    )

    def other_process() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              timeout=120, cwd=REPO)

    busy = other_process()
    assert busy.returncode != 0
    assert "StoreUnavailable" in busy.stderr and "open in another process" in busy.stderr
    assert "QDRANT_URL" in busy.stderr
    count = kb.count()
    close_all()  # releases the lock
    free = other_process()
    assert free.returncode == 0, free.stderr[-2000:]
    assert free.stdout.strip() == str(count)


def test_searches_from_several_threads_while_another_writes(data_dir, docs):
    kb = open_edge()
    ingest_directory(kb, docs, progress=False)
    stored = kb.stored_chunks()
    expected = ids(kb.search("Huang Qi qi tonic", k=3, category="herb"))
    errors: list[BaseException] = []

    def search() -> None:
        try:
            for _ in range(20):
                assert ids(kb.search("Huang Qi qi tonic", k=3, category="herb")) == expected
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    def write() -> None:
        try:
            for n in range(20):
                kb.set_origin([c.point_id for c in stored], f"/moved/{n}", str(n))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=search) for _ in range(3)] + [threading.Thread(target=write)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert {c.uri for c in kb.stored_chunks()} == {"/moved/19"}


def test_another_embedding_model_is_refused_with_what_to_do(data_dir, docs):
    kb = open_edge()
    ingest_directory(kb, docs, progress=False)
    kb.close()
    other = EdgeKnowledgeBase(kb.root, kb.collection, kb.dense, kb.sparse, "other-model", 768)
    try:
        with pytest.raises(EmbeddingMismatch, match=r"Re-ingest with `wwhd ingest --recreate"):
            other.ensure_collection()
        other.ensure_collection(recreate=True)  # what --recreate does: a fresh, empty shard
        assert other.count() == 0
        assert other.collection_metadata()["embedding_model"] == "other-model"
    finally:
        other.close()


def old_local_collection(data_dir: Path, docs: Path, kb: EdgeKnowledgeBase) -> list:
    """Build the collection the earlier embedded store (qdrant-client local mode) left."""
    client = QdrantClient(path=str(data_dir / "qdrant"))
    try:
        old = QdrantKnowledgeBase(client, kb.collection, kb.dense, kb.sparse, kb.dense_model,
                                  kb.dense_size, "old", local_mode=True)
        ingest_directory(old, docs, progress=False)
        return [old.search("stance training for the legs", k=5),
                old.search("Huang Qi", k=4, tradition="tcm"), sorted(old.stored_chunks(),
                                                                     key=lambda c: c.chunk_id)]
    finally:
        client.close()


def test_an_old_embedded_collection_is_migrated_without_embedding(
    data_dir, docs, monkeypatch, caplog
):
    # Build the old collection first, with a store that is then closed and moved aside.
    scratch = open_edge()
    scratch.close()
    shutil.rmtree(data_dir / "qdrant-edge")
    expected = old_local_collection(data_dir, docs, scratch)

    def no_embedding(self, texts):
        raise AssertionError("migration must copy vectors, not embed")

    monkeypatch.setattr(E5Embeddings, "embed_documents", no_embedding)
    with caplog.at_level(logging.INFO, logger="wwhd.tools.migrate"):
        kb = open_edge()
    [line] = [r.getMessage() for r in caplog.records if r.name == "wwhd.tools.migrate"]
    assert f"migrated {len(expected[2])} chunks of collection wwhd_kb" in line
    assert "nothing re-embedded" in line and str(data_dir / "qdrant") in line
    assert kb.count() == len(expected[2])
    kb.check_compatible()
    # Same points, same payloads, same vectors: the same passages in the same order.
    assert kb.search("stance training for the legs", k=5) == expected[0]
    assert kb.search("Huang Qi", k=4, tradition="tcm") == expected[1]
    assert sorted(kb.stored_chunks(), key=lambda c: c.chunk_id) == expected[2]
    # Once: the next opening finds the new store filled and leaves the old folder alone.
    close_all()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="wwhd.tools.migrate"):
        assert open_edge().count() == len(expected[2])
    assert not [r for r in caplog.records if r.name == "wwhd.tools.migrate"]
    assert (data_dir / "qdrant" / "collection" / "wwhd_kb").is_dir()


def test_a_migrated_collection_keeps_the_model_it_was_built_with(data_dir, docs, monkeypatch):
    scratch = open_edge()
    scratch.close()
    shutil.rmtree(data_dir / "qdrant-edge")
    client = QdrantClient(path=str(data_dir / "qdrant"))
    old = QdrantKnowledgeBase(client, scratch.collection, scratch.dense, scratch.sparse,
                              "older-model", 384, "old", local_mode=True)
    ingest_directory(old, docs, progress=False)
    client.close()
    kb = open_edge()
    with pytest.raises(EmbeddingMismatch, match="'older-model'"):
        kb.check_compatible()


def test_langchain_vector_store_interface(data_dir, docs):
    kb = open_edge()
    ingest_directory(kb, docs, progress=False)
    store = kb.vector_store
    docs_found = store.similarity_search("What is Huang Qi used for?", k=2)
    assert docs_found[0].metadata["doc_id"] == "herb-huang-qi"
    scored = store.similarity_search_with_score("stance", k=3, filter={"tradition": "shaolin"})
    assert scored and all(d.metadata["tradition"] == "shaolin" for d, _ in scored)
    retriever = store.as_retriever(search_kwargs={"k": 2, "filter": {"category": "herb"}})
    assert [d.metadata["category"] for d in retriever.invoke("blood tonic")] == ["herb", "herb"]
    [new_id] = store.add_texts(["Note - Extra\nA passage about iron shirt training."],
                               [{"tradition": "shaolin", "category": "note"}])
    assert store.similarity_search("iron shirt", k=1, filter={"category": "note"})[
        0].page_content.endswith("iron shirt training.")
    store.delete([new_id])
    assert store.similarity_search("iron shirt", k=1, filter={"category": "note"}) == []
