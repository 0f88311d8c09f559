"""Ingestion: documents in, chunks embedded and upserted, stale chunks removed.

Incremental by design: a chunk whose content hash is already stored is not re-embedded; a changed
document replaces its old chunks; a document that disappeared from the ingested root (folder or
S3 prefix) is removed. A malformed document is reported by name and skipped; the rest still lands.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from wwhd.tools.documents import (
    Chunk,
    DocumentError,
    chunk_document,
    iter_markdown_files,
    parse_document,
)
from wwhd.tools.knowledge import KnowledgeBase, StoredChunk

log = logging.getLogger(__name__)

EMBED_BATCH = 32


@dataclass(frozen=True)
class RawDocument:
    """A document's text and where it came from (a path or an s3:// URI)."""

    uri: str
    text: str
    # The source's version tag (an S3 ETag), stored with the document's chunks.
    version: str = ""
    # The caller found this uri's chunks stored at `version`: keep them; `text` is not read.
    unchanged: bool = False


@dataclass
class IngestReport:
    """What an ingestion changed; printed by `wwhd ingest`."""

    documents: int = 0
    chunks_total: int = 0
    chunks_added: int = 0
    chunks_updated: int = 0
    chunks_unchanged: int = 0
    chunks_deleted: int = 0
    documents_deleted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # How long embedding and writing the added and updated chunks took.
    embed_seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.chunks_added or self.chunks_updated or self.chunks_deleted)

    @property
    def passages_per_second(self) -> float:
        """Chunks embedded and written per second (0 when nothing needed embedding)."""
        embedded = self.chunks_added + self.chunks_updated
        return embedded / self.embed_seconds if embedded and self.embed_seconds > 0 else 0.0

    def throughput(self) -> str:
        """How fast the added and updated chunks were embedded and written ("" if none were)."""
        embedded = self.chunks_added + self.chunks_updated
        if not embedded:
            return ""
        return (f"Embedded {embedded} passages in {self.embed_seconds:.1f} s: "
                f"{self.passages_per_second:.1f} passages/s.")

    def summary(self) -> str:
        """One paragraph a person reads after an ingestion."""
        lines = [
            f"{self.documents} documents, {self.chunks_total} chunks: "
            f"{self.chunks_added} added, {self.chunks_updated} updated, "
            f"{self.chunks_unchanged} unchanged, {self.chunks_deleted} deleted.",
        ]
        if self.throughput():
            lines.append(self.throughput())
        if self.documents_deleted:
            lines.append("Removed documents: " + ", ".join(sorted(self.documents_deleted)))
        if self.errors:
            lines.append(f"{len(self.errors)} document(s) skipped:")
            lines.extend(f"  - {error}" for error in self.errors)
        return "\n".join(lines)


def read_directory(root: Path) -> list[RawDocument]:
    """Markdown documents under a folder (or one file), as raw text with their paths."""
    if not root.exists():
        raise FileNotFoundError(f"{root} does not exist")
    documents = []
    for path in iter_markdown_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            text = None
        documents.append(RawDocument(uri=str(path.resolve()), text=text or ""))
    return documents


def ingest(
    kb: KnowledgeBase,
    documents: Iterable[RawDocument],
    root_uri: str,
    progress: bool = True,
    recreate: bool = False,
) -> IngestReport:
    """Bring the collection in line with `documents`, all of which come from `root_uri`.

    Chunks stored from under `root_uri` whose documents are no longer there are deleted.
    """
    report = IngestReport()
    kb.ensure_collection(recreate=recreate)
    stored = {item.chunk_id: item for item in kb.stored_chunks()}
    stored_by_uri: dict[str, list[StoredChunk]] = {}
    for item in stored.values():
        stored_by_uri.setdefault(item.uri, []).append(item)
    wanted: list[Chunk] = []
    kept_ids: set[str] = set()
    failed_uris: set[str] = set()
    seen_doc_ids: dict[str, str] = {}
    for raw in documents:
        try:
            if raw.unchanged:
                kept = stored_by_uri.get(raw.uri, [])
                _check_unchanged(raw, kept, seen_doc_ids)
                seen_doc_ids[kept[0].doc_id] = raw.uri
                report.documents += 1
                kept_ids.update(item.chunk_id for item in kept)
                continue
            if not raw.text.strip():
                raise DocumentError(f"{raw.uri}: empty or not UTF-8 text")
            doc = parse_document(raw.text, raw.uri)
            if doc.id in seen_doc_ids:
                raise DocumentError(
                    f"{raw.uri}: id {doc.id!r} is already used by {seen_doc_ids[doc.id]}"
                )
            chunks = chunk_document(doc, kb.dense_model)
            if raw.version:
                chunks = [replace(chunk, source_version=raw.version) for chunk in chunks]
        except DocumentError as exc:
            log.warning("skipping %s", exc)
            report.errors.append(str(exc))
            failed_uris.add(raw.uri)
            continue
        seen_doc_ids[doc.id] = raw.uri
        report.documents += 1
        wanted.extend(chunks)
    report.chunks_total = len(wanted) + len(kept_ids)
    report.chunks_unchanged = len(kept_ids)

    to_write: list[Chunk] = []
    # Same text, new origin (a moved folder, a new object version): update, do not re-embed.
    retag: dict[tuple[str, str], list[str]] = {}
    for chunk in wanted:
        previous = stored.get(chunk.id)
        if previous is None:
            report.chunks_added += 1
            to_write.append(chunk)
        elif previous.content_hash != chunk.content_hash:
            report.chunks_updated += 1
            to_write.append(chunk)
        else:
            report.chunks_unchanged += 1
            origin = (chunk.uri, chunk.source_version)
            if origin != (previous.uri, previous.source_version):
                retag.setdefault(origin, []).append(previous.point_id)

    wanted_ids = {chunk.id for chunk in wanted} | kept_ids
    # A document that failed to parse keeps its old chunks: a typo must not empty the answer.
    stale = [
        item
        for item in stored.values()
        if item.chunk_id not in wanted_ids
        and _under(item.uri, root_uri)
        and item.uri not in failed_uris
    ]
    kb.delete(item.point_id for item in stale)
    report.chunks_deleted = len(stale)
    report.documents_deleted = sorted(
        {item.doc_id for item in stale} - set(seen_doc_ids)
    )

    bar = tqdm(
        total=len(to_write), desc="Embedding chunks", unit="chunk", disable=not progress,
    )
    started = time.perf_counter()
    with bar:
        for start in range(0, len(to_write), EMBED_BATCH):
            batch = to_write[start : start + EMBED_BATCH]
            kb.upsert(batch)
            bar.update(len(batch))
    report.embed_seconds = time.perf_counter() - started
    for (uri, version), ids in retag.items():
        kb.set_origin(ids, uri, version)
    log.info("ingested %s: %s %s", root_uri, report.summary().splitlines()[0],
             report.throughput())
    return report


def _check_unchanged(
    raw: RawDocument, kept: list[StoredChunk], seen_doc_ids: dict[str, str]
) -> None:
    """Raise DocumentError when an unchanged document's stored chunks cannot simply be kept."""
    if not kept:
        raise DocumentError(
            f"{raw.uri}: marked unchanged but no chunks are stored for it; "
            "run the ingestion again with --recreate"
        )
    doc_id = kept[0].doc_id
    if doc_id in seen_doc_ids:
        raise DocumentError(f"{raw.uri}: id {doc_id!r} is already used by {seen_doc_ids[doc_id]}")


def _under(uri: str, root_uri: str) -> bool:
    if uri == root_uri:
        return True
    root = root_uri.rstrip("/") + "/"
    return uri.startswith(root)


def ingest_directory(
    kb: KnowledgeBase, root: Path, progress: bool = True, recreate: bool = False
) -> IngestReport:
    """Ingest every Markdown document under a local folder."""
    return ingest(
        kb, read_directory(root), str(root.resolve()), progress=progress, recreate=recreate
    )


__all__ = ["IngestReport", "RawDocument", "ingest", "ingest_directory"]
