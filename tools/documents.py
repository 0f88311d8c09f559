"""Knowledge-base documents: parse Markdown with front matter and chunk it by `##` heading.

A chunk id is `<document id>#<section slug>`, so it stays the same across re-ingestion as long as
the document keeps its id and the section its heading; evals and citations rely on that.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

TRADITIONS = ("tcm", "shaolin")
CATEGORIES = (
    "theory",
    "diagnosis",
    "pattern",
    "herb",
    "formula",
    "acupoint",
    "safety",
    "shaolin-history",
    "shaolin-practice",
    "chan",
)
# A section longer than this is split at paragraph breaks so one chunk stays focused.
MAX_CHUNK_CHARS = 1600
_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,120}$")


# A reference names one specific work; these keys are all a reference may have.
REFERENCE_KEYS = ("work", "section", "date", "url")
# "Standard textbooks" names no work a reader can open: a reference must be specific.
_GENERIC_REFERENCE = re.compile(r"^\s*(?:standard|various|general|common)\b", re.IGNORECASE)


class DocumentError(ValueError):
    """A document cannot be ingested; the message names the document and the problem."""


@dataclass(frozen=True)
class Document:
    """One knowledge-base document after its front matter has been validated."""

    id: str
    title: str
    tradition: str
    category: str
    tags: tuple[str, ...]
    references: tuple[dict[str, str], ...]
    reviewed: str
    body: str
    uri: str
    # Other names people use for the subject ("dong quai", "licorice"): the router reads them as
    # names of the subject; they are not stored with the passages.
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage: a section (or part of one) of a document."""

    id: str
    doc_id: str
    title: str
    section: str
    text: str
    tradition: str
    category: str
    tags: tuple[str, ...]
    uri: str
    position: int
    references: tuple[dict[str, str], ...] = ()
    reviewed: str = ""
    content_hash: str = field(default="")
    # The source's version tag (an S3 ETag) when the source has one; lets a re-ingestion skip
    # downloading objects whose version is unchanged.
    source_version: str = field(default="")

    @property
    def embedding_text(self) -> str:
        """What gets embedded: the title and heading give a section its subject."""
        return f"{self.title} - {self.section}\n{self.text}"

    def metadata(self) -> dict:
        """Payload stored beside the vectors (Qdrant keys become `metadata.<name>`)."""
        return {
            "chunk_id": self.id,
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.section,
            "tradition": self.tradition,
            "category": self.category,
            "tags": list(self.tags),
            "uri": self.uri,
            "position": self.position,
            "references": [dict(r) for r in self.references],
            "reviewed": self.reviewed,
            "content_hash": self.content_hash,
            # Only sources with versions (S3) store one, so local payloads stay as they were.
            **({"source_version": self.source_version} if self.source_version else {}),
        }


def slugify(text: str) -> str:
    """Lower-case ASCII slug used in chunk ids."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "section"


def _split_front_matter(text: str, uri: str) -> tuple[dict, str]:
    text = text.lstrip("\ufeff")
    if not text.startswith("---"):
        raise DocumentError(f"{uri}: no front matter (the file must start with a '---' line)")
    parts = re.split(r"^---[ \t]*$", text, maxsplit=2, flags=re.MULTILINE)
    if len(parts) < 3:
        raise DocumentError(f"{uri}: front matter is not closed by a '---' line")
    try:
        meta = yaml.safe_load(parts[1])
    except yaml.YAMLError as exc:
        raise DocumentError(f"{uri}: front matter is not valid YAML ({exc})") from exc
    if not isinstance(meta, dict):
        raise DocumentError(f"{uri}: front matter must be 'key: value' lines")
    return meta, parts[2]


def parse_document(text: str, uri: str) -> Document:
    """Parse and validate one Markdown document; raise DocumentError saying what to fix."""
    meta, body = _split_front_matter(text, uri)
    missing = [key for key in ("id", "title", "tradition", "category") if not meta.get(key)]
    if missing:
        raise DocumentError(f"{uri}: front matter lacks {', '.join(missing)}")
    doc_id = str(meta["id"]).strip()
    if not _ID_PATTERN.match(doc_id):
        raise DocumentError(
            f"{uri}: id {doc_id!r} must be lower-case letters, digits and hyphens"
        )
    tradition = str(meta["tradition"]).strip().lower()
    if tradition not in TRADITIONS:
        raise DocumentError(
            f"{uri}: tradition {tradition!r} must be one of {', '.join(TRADITIONS)}"
        )
    category = str(meta["category"]).strip().lower()
    if category not in CATEGORIES:
        raise DocumentError(
            f"{uri}: category {category!r} must be one of {', '.join(CATEGORIES)}"
        )
    tags = _string_list(meta.get("tags"), "tags", "[qi, spleen]", uri)
    aliases = _string_list(meta.get("aliases"), "aliases", "[dong quai, Chinese angelica]", uri)
    if not body.strip():
        raise DocumentError(f"{uri}: the document has no text after its front matter")
    if meta.get("source") and not meta.get("references"):
        raise DocumentError(
            f"{uri}: the 'source' line is replaced by a 'references' list of specific works and "
            "a 'reviewed' date (see corpus/README.md, 'Document format')"
        )
    references = parse_references(meta.get("references"), uri)
    reviewed = meta.get("reviewed")
    if not reviewed or not re.match(r"^\d{4}-\d{2}-\d{2}$", str(reviewed)):
        raise DocumentError(
            f"{uri}: front matter needs 'reviewed: YYYY-MM-DD', the date its facts were last "
            "checked against its references"
        )
    return Document(
        id=doc_id,
        title=str(meta["title"]).strip(),
        tradition=tradition,
        category=category,
        tags=tags,
        references=references,
        reviewed=str(reviewed),
        body=body,
        uri=uri,
        aliases=aliases,
    )


def _string_list(value, key: str, example: str, uri: str) -> tuple[str, ...]:
    """A front-matter list of short strings (a comma-separated string is accepted too)."""
    items = value or []
    if isinstance(items, str):
        items = items.split(",")
    if not isinstance(items, list):
        raise DocumentError(f"{uri}: {key} must be a list such as {example}")
    return tuple(str(item).strip() for item in items if str(item).strip())


def parse_references(raw: object, uri: str) -> tuple[dict[str, str], ...]:
    """Validate the `references` list: each names a specific work (see corpus/README.md)."""
    example = "references:\n  - work: \"Author. Title, edition. Publisher, year\"\n    section: ..."
    if not raw or not isinstance(raw, list):
        raise DocumentError(
            f"{uri}: front matter needs a 'references' list naming the works its facts come "
            f"from, e.g.\n{example}"
        )
    references = []
    for number, item in enumerate(raw, start=1):
        if isinstance(item, str):
            item = {"work": item}
        if not isinstance(item, dict) or not str(item.get("work") or "").strip():
            raise DocumentError(f"{uri}: reference {number} needs a 'work' (e.g.\n{example})")
        unknown = set(item) - set(REFERENCE_KEYS)
        if unknown:
            raise DocumentError(
                f"{uri}: reference {number} has unknown keys {', '.join(sorted(map(str, unknown)))}"
                f"; allowed: {', '.join(REFERENCE_KEYS)}"
            )
        if _GENERIC_REFERENCE.match(str(item["work"])):
            raise DocumentError(
                f"{uri}: reference {number} ({item['work']!r}) names no specific work; give "
                "author or issuer, title and edition or date"
            )
        references.append({k: str(item[k]).strip() for k in REFERENCE_KEYS if item.get(k)})
    return tuple(references)


def _sections(body: str) -> Iterator[tuple[str, str]]:
    heading = "Overview"
    lines: list[str] = []
    for line in body.splitlines():
        if line.startswith("## "):
            if "".join(lines).strip():
                yield heading, "\n".join(lines).strip()
            heading, lines = line[3:].strip() or "Section", []
        elif line.startswith("# "):
            continue  # the document title; it is already in front matter
        else:
            lines.append(line)
    if "".join(lines).strip():
        yield heading, "\n".join(lines).strip()


def _split_long(text: str) -> list[str]:
    if len(text) <= MAX_CHUNK_CHARS:
        return [text]
    pieces: list[str] = []
    current = ""
    for paragraph in re.split(r"\n\s*\n", text):
        if current and len(current) + len(paragraph) + 2 > MAX_CHUNK_CHARS:
            pieces.append(current)
            current = paragraph
        else:
            current = f"{current}\n\n{paragraph}" if current else paragraph
    if current:
        pieces.append(current)
    return pieces


def chunk_document(doc: Document, embedding_model: str) -> list[Chunk]:
    """Split a document into chunks by `##` heading, each with a stable id and content hash.

    The hash covers the embedded text and the embedding model, so re-ingesting with the same
    model and text is a no-op, and changing either re-embeds.
    """
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for heading, text in _sections(doc.body):
        for piece in _split_long(text):
            slug = slugify(heading)
            seen[slug] = seen.get(slug, 0) + 1
            if seen[slug] > 1:
                slug = f"{slug}-{seen[slug]}"
            chunk = Chunk(
                id=f"{doc.id}#{slug}",
                doc_id=doc.id,
                title=doc.title,
                section=heading,
                text=piece,
                tradition=doc.tradition,
                category=doc.category,
                tags=doc.tags,
                uri=doc.uri,
                position=len(chunks),
                references=doc.references,
                reviewed=doc.reviewed,
            )
            # References and review date are payload only, but a change to them must still
            # reach the store, so they count in the hash.
            digest = hashlib.sha256(
                f"{embedding_model}\n{chunk.embedding_text}\n{doc.tags}\n{doc.references}\n"
                f"{doc.reviewed}".encode()
            ).hexdigest()
            chunks.append(replace(chunk, content_hash=digest))
    return chunks


def iter_markdown_files(root: Path) -> Iterator[Path]:
    """Markdown documents under `root` (a file or folder), skipping README files."""
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*.md")):
        if path.name.lower() != "readme.md":
            yield path
