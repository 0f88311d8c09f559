"""`wwhd ingest s3://bucket/prefix` (tools/s3.py) against a real S3 server: SeaweedFS on loopback.

A tiny corpus (documents copied from corpus/) in a temporary embedded Qdrant keeps each
ingestion to a few seconds of CPU embedding.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from wwhd.core.settings import load_settings
from wwhd.tools import s3 as s3_module
from wwhd.tools.s3 import S3SourceError, ingest_s3, s3_client
from wwhd.tools.store import open_knowledge_base

from aws_loopback import ACCESS_KEY, apply_aws_environment, aws_environment, seaweed_s3

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "corpus"
DOCS = {
    "kb/acupoints/ht7.md": CORPUS / "acupoints" / "acupoint-ht7-shen-men.md",
    "kb/acupoints/yin-tang.md": CORPUS / "acupoints" / "acupoint-yin-tang.md",
    "kb/acupoints/ki1.md": CORPUS / "acupoints" / "acupoint-ki1-yong-quan.md",
}
NEW_DOC = CORPUS / "acupoints" / "acupoint-du20-bai-hui.md"
# Variables that would change the embedding model or the store under the test's feet.
ISOLATED = ("QDRANT_URL", "OPENAI_API_KEY", "WWHD_EMBEDDING_MODEL", "WWHD_LLM_BASE_URL",
            "WWHD_EMBEDDINGS_BASE_URL", "WWHD_SECRETS_ID")


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory) -> str:
    workdir = tmp_path_factory.mktemp("s3")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                patch.delenv(name)
        with seaweed_s3(workdir) as endpoint:
            for name, value in aws_environment(None, workdir).items():
                patch.setenv(name, value)
            # The project's own override, with path-style addressing as S3-compatibles expect.
            patch.setenv("WWHD_S3_ENDPOINT_URL", endpoint)
            yield endpoint


@pytest.fixture(scope="module")
def kb(s3_endpoint, tmp_path_factory):
    """A knowledge base in a temporary embedded Qdrant (e5 embeddings, no network)."""
    data = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as patch:
        for name in ISOLATED:
            patch.delenv(name, raising=False)
        patch.setenv("WWHD_DATA_DIR", str(data))
        patch.setenv("WWHD_COLLECTION", "s3_test")
        base = open_knowledge_base(load_settings())
        yield base
        base.close()  # only ours: other modules may hold their own stores


def s3():
    """A client for the loopback S3 (the project's WWHD_S3_ENDPOINT_URL, as the CLI uses it)."""
    return s3_client(load_settings().s3_endpoint_url)


def new_bucket(name: str) -> None:
    client = s3()
    deadline = time.monotonic() + 15
    while True:  # the filer may still be starting right after the S3 port opens
        try:
            client.create_bucket(Bucket=name)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def upload(bucket: str, key: str, text: str) -> None:
    s3().put_object(Bucket=bucket, Key=key, Body=text.encode())


def counting_client(calls: list[str]):
    """An S3 client that records every API operation it sends."""
    client = s3()
    client.meta.events.register(
        "before-call.s3.*", lambda model, **_: calls.append(model.name)
    )
    return client


def chunks_by_uri(kb, prefix: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for item in kb.stored_chunks():
        if item.uri.startswith(prefix):
            found.setdefault(item.uri, set()).add(item.source_version)
    return found


def test_first_ingestion_then_an_unchanged_rerun_downloads_nothing(kb):
    new_bucket("docs-a")
    for key, path in DOCS.items():
        upload("docs-a", key, path.read_text())
    upload("docs-a", "kb/README.md", "# not a document\n")
    upload("docs-a", "kb/notes.txt", "not Markdown")
    upload("docs-a", "kb-old/stale.md", NEW_DOC.read_text())  # beside, not under, kb/

    first = ingest_s3(kb, "s3://docs-a/kb", s3(), progress=False)

    assert first.errors == []
    assert (first.documents, first.objects_listed, first.objects_downloaded) == (3, 3, 3)
    assert first.chunks_added == first.chunks_total > 0
    stored = chunks_by_uri(kb, "s3://docs-a/")
    assert set(stored) == {f"s3://docs-a/{key}" for key in DOCS}
    etags = {
        f"s3://docs-a/{o['Key']}": o["ETag"].strip('"')
        for o in s3().list_objects_v2(Bucket="docs-a", Prefix="kb/")["Contents"]
    }
    assert all(stored[uri] == {etags[uri]} for uri in stored)  # each chunk knows its version

    calls: list[str] = []
    again = ingest_s3(kb, "s3://docs-a/kb/", counting_client(calls), progress=False)

    assert "GetObject" not in calls and "ListObjectsV2" in calls
    assert (again.objects_downloaded, again.objects_unchanged) == (0, 3)
    assert (again.chunks_added, again.chunks_updated, again.chunks_deleted) == (0, 0, 0)
    assert again.chunks_unchanged == again.chunks_total == first.chunks_total
    assert again.documents == 3 and not again.changed
    assert "0 downloaded (new or changed), 3 unchanged by ETag" in again.summary()


def test_changed_added_deleted_and_broken_objects(kb):
    new_bucket("docs-b")
    for key, path in DOCS.items():
        upload("docs-b", key, path.read_text())
    first = ingest_s3(kb, "s3://docs-b/kb", s3(), progress=False)
    per_doc = first.chunks_total // 3

    ht7 = DOCS["kb/acupoints/ht7.md"].read_text()
    edited = ht7.rstrip() + "\n\nOne more sentence for the test.\n"   # last section changes
    upload("docs-b", "kb/acupoints/ht7.md", edited)                 # changed
    s3().delete_object(Bucket="docs-b", Key="kb/acupoints/ki1.md")  # deleted
    upload("docs-b", "kb/acupoints/du20.md", NEW_DOC.read_text())   # added
    upload("docs-b", "kb/broken.md", "no front matter at all\n")    # malformed
    # Same bytes again: same ETag, so not even downloaded.
    upload("docs-b", "kb/acupoints/yin-tang.md", DOCS["kb/acupoints/yin-tang.md"].read_text())

    calls: list[str] = []
    report = ingest_s3(kb, "s3://docs-b/kb", counting_client(calls), progress=False)

    assert sorted(report.downloaded_keys) == [
        "kb/acupoints/du20.md", "kb/acupoints/ht7.md", "kb/broken.md",
    ]
    assert calls.count("GetObject") == 3 and report.objects_unchanged == 1
    assert report.chunks_added == per_doc            # the new document
    assert report.chunks_updated == 1                # the edited section, and only it
    assert report.chunks_deleted == per_doc          # the deleted document's chunks
    assert report.documents_deleted == ["acupoint-ki1-yong-quan"]
    assert len(report.errors) == 1 and report.errors[0].startswith("s3://docs-b/kb/broken.md:")
    stored = chunks_by_uri(kb, "s3://docs-b/")
    assert "s3://docs-b/kb/acupoints/ki1.md" not in stored
    assert "s3://docs-b/kb/acupoints/du20.md" in stored
    summary = report.summary()
    assert "Removed documents: acupoint-ki1-yong-quan" in summary and "kb/broken.md" in summary
    # The edited object's unchanged sections took its new ETag without being re-embedded, so
    # the next run downloads only what still has no chunks (the broken document).
    new_etag = s3().head_object(Bucket="docs-b", Key="kb/acupoints/ht7.md")["ETag"]
    assert stored["s3://docs-b/kb/acupoints/ht7.md"] == {new_etag.strip('"')}
    calls.clear()
    settled = ingest_s3(kb, "s3://docs-b/kb", counting_client(calls), progress=False)
    assert calls.count("GetObject") == 1 and settled.downloaded_keys == ["kb/broken.md"]
    assert not settled.changed

    # A typo in a document that was fine keeps its previous chunks rather than emptying it.
    upload("docs-b", "kb/acupoints/du20.md", "---\nid: [unclosed\n---\nbody\n")
    broken = ingest_s3(kb, "s3://docs-b/kb", s3(), progress=False)
    assert broken.chunks_deleted == 0 and len(broken.errors) == 2
    assert "s3://docs-b/kb/acupoints/du20.md" in chunks_by_uri(kb, "s3://docs-b/")


def test_listing_is_paginated(kb, monkeypatch):
    new_bucket("docs-c")
    for number in range(5):
        upload("docs-c", f"many/doc-{number}.md", tiny_document(number))
    monkeypatch.setattr(s3_module, "LIST_PAGE_SIZE", 2)

    calls: list[str] = []
    report = ingest_s3(kb, "s3://docs-c/many", counting_client(calls), progress=False)

    assert calls.count("ListObjectsV2") == 3  # 2 + 2 + 1
    assert report.documents == report.objects_listed == 5 and report.errors == []


def test_unreadable_sources_say_what_to_check(kb, s3_endpoint):
    with pytest.raises(S3SourceError, match="bucket does not exist"):
        ingest_s3(kb, "s3://no-such-bucket/kb", s3(), progress=False)
    wrong_keys = boto3.client(
        "s3", endpoint_url=s3_endpoint, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key="wrong", region_name="us-east-1",
    )
    new_bucket("docs-d")
    with pytest.raises(S3SourceError, match="access denied"):
        ingest_s3(kb, "s3://docs-d/kb", wrong_keys, progress=False)
    with pytest.raises(S3SourceError, match="names no bucket"):
        ingest_s3(kb, "s3:///kb", s3(), progress=False)


def test_wwhd_ingest_command_reads_s3(s3_endpoint, tmp_path):
    new_bucket("docs-e")
    upload("docs-e", "kb/one.md", tiny_document(1))
    upload("docs-e", "kb/two.md", tiny_document(2))
    env = {name: value for name, value in os.environ.items() if name not in ISOLATED}
    apply_aws_environment(env, aws_environment(s3_endpoint, tmp_path))
    env["WWHD_DATA_DIR"] = str(tmp_path / "data")
    env.pop("WWHD_S3_ENDPOINT_URL", None)  # boto3's AWS_ENDPOINT_URL alone must do

    result = subprocess.run(
        [sys.executable, "-m", "wwhd.cli", "ingest", "--quiet", "s3://docs-e/kb"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )

    assert result.returncode == 0, result.stderr
    assert "s3://docs-e/kb: 2 Markdown objects, 2 downloaded" in result.stdout
    assert "2 documents, 2 chunks: 2 added" in result.stdout


def tiny_document(number: int) -> str:
    return (
        f"---\nid: s3-test-{number}\ntitle: Test document {number}\ntradition: tcm\n"
        f"category: theory\ntags: [test]\nreferences:\n  - work: A test reference, 2026\n"
        f"reviewed: 2026-11-30\n---\n\n## Section\n\nShort text number {number}.\n"
    )
