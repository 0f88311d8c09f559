"""Markdown documents in S3: `wwhd ingest s3://bucket/prefix`.

The prefix is listed page by page. An object whose ETag equals the one stored with its chunks is
not downloaded (its chunks are kept as they are); new and changed objects are downloaded and go
through the same parsing, chunking and content-hash comparison as local files; chunks of objects
that left the prefix are deleted. Object URIs are `s3://bucket/key`.

The endpoint is boto3's (it honours `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_S3`);
`WWHD_S3_ENDPOINT_URL` overrides it for S3 alone, with path-style addressing as S3-compatible
servers expect.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm import tqdm

from wwhd.core.errors import ConfigurationError
from wwhd.tools.ingest import IngestReport, RawDocument, ingest
from wwhd.tools.knowledge import KnowledgeBase

log = logging.getLogger(__name__)

# S3's own maximum; a module constant so tests can prove pagination with tiny pages.
LIST_PAGE_SIZE = 1000
_SHOWN_KEYS = 20
_DENIED = {
    "AccessDenied",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
}


class S3SourceError(ConfigurationError):
    """The s3:// source cannot be listed or read; the message says what to check."""


@dataclass(frozen=True)
class S3Object:
    """One listed Markdown object."""

    key: str
    etag: str
    size: int


@dataclass
class S3IngestReport(IngestReport):
    """An IngestReport plus what happened on the S3 side (listing and downloads)."""

    source: str = ""
    objects_listed: int = 0
    objects_downloaded: int = 0
    objects_unchanged: int = 0
    downloaded_keys: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The S3 line (what was downloaded, what was skipped by ETag), then the usual report."""
        lines = [
            f"{self.source}: {self.objects_listed} Markdown objects, "
            f"{self.objects_downloaded} downloaded (new or changed), "
            f"{self.objects_unchanged} unchanged by ETag (not downloaded).",
        ]
        if self.downloaded_keys:
            shown = ", ".join(self.downloaded_keys[:_SHOWN_KEYS])
            more = len(self.downloaded_keys) - _SHOWN_KEYS
            lines.append("Downloaded: " + shown + (f" and {more} more" if more > 0 else ""))
        return "\n".join([*lines, super().summary()])


_S3_FIELDS = (
    "source", "objects_listed", "objects_downloaded", "objects_unchanged", "downloaded_keys"
)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split `s3://bucket/prefix` into bucket and prefix (the prefix may be empty)."""
    if not uri.startswith("s3://"):
        raise S3SourceError(f"{uri!r} is not an s3:// URI (expected s3://bucket/prefix)")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not bucket:
        raise S3SourceError(f"{uri!r} names no bucket (expected s3://bucket/prefix)")
    return bucket, prefix


def s3_client(endpoint: str | None = None) -> Any:
    """A boto3 S3 client with bounded retries and timeouts, at `endpoint` (settings'
    `WWHD_S3_ENDPOINT_URL`) or boto3's own (`AWS_ENDPOINT_URL`, else AWS)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=30,
        s3={"addressing_style": "path"} if endpoint else None,
    )
    return boto3.client("s3", endpoint_url=endpoint, config=config)


def list_markdown_objects(client: Any, bucket: str, prefix: str) -> list[S3Object]:
    """Markdown objects at or under `prefix` (as a folder), skipping README files."""
    # "docs" means the folder docs/ (or the object "docs" itself), never "docs-old/...".
    folder = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    found: list[S3Object] = []
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE}
    )
    for page in pages:
        for item in page.get("Contents", []):
            key = item["Key"]
            name = posixpath.basename(key).lower()
            if not (key == prefix or key.startswith(folder)):
                continue
            if not name.endswith(".md") or name == "readme.md":
                continue
            found.append(S3Object(key=key, etag=item["ETag"].strip('"'), size=item["Size"]))
    return found


def ingest_s3(
    kb: KnowledgeBase,
    uri: str,
    client: Any,
    progress: bool = True,
    recreate: bool = False,
) -> S3IngestReport:
    """Bring the collection in line with the Markdown objects under `uri` (s3://bucket/prefix),
    read through `client` (`s3_client(...)`).

    Only new or changed objects (by ETag) are downloaded; within them only chunks whose content
    changed are re-embedded; chunks of objects no longer under the prefix are deleted.
    """
    bucket, prefix = parse_s3_uri(uri)
    root_uri = f"s3://{bucket}/{prefix}".rstrip("/") if prefix else f"s3://{bucket}"
    with _translated_errors(client, uri, "list"):
        objects = list_markdown_objects(client, bucket, prefix)
    stored_versions: dict[str, set[str]] = {}
    if not recreate:
        for item in kb.stored_chunks():
            stored_versions.setdefault(item.uri, set()).add(item.source_version)

    s3_report = S3IngestReport(source=uri, objects_listed=len(objects))

    def documents() -> Iterator[RawDocument]:
        bar = tqdm(objects, desc=f"Reading {uri}", unit="object", disable=not progress)
        for obj in bar:
            object_uri = f"s3://{bucket}/{obj.key}"
            if stored_versions.get(object_uri) == {obj.etag}:
                s3_report.objects_unchanged += 1
                yield RawDocument(uri=object_uri, text="", version=obj.etag, unchanged=True)
                continue
            downloaded = _download(client, bucket, obj)
            if downloaded is None:
                continue
            text, etag = downloaded
            s3_report.objects_downloaded += 1
            s3_report.downloaded_keys.append(obj.key)
            yield RawDocument(uri=object_uri, text=text, version=etag)

    report = ingest(kb, documents(), root_uri, progress=progress, recreate=recreate)
    return S3IngestReport(
        **asdict(report),
        **{name: getattr(s3_report, name) for name in _S3_FIELDS},
    )


def _download(client: Any, bucket: str, obj: S3Object) -> tuple[str, str] | None:
    """The object's text ("" when not UTF-8, which ingest reports) and the ETag of what was read;
    None when the object vanished after the listing."""
    from botocore.exceptions import ClientError

    uri = f"s3://{bucket}/{obj.key}"
    try:
        with _translated_errors(client, uri, "download", passthrough=("NoSuchKey",)):
            response = client.get_object(Bucket=bucket, Key=obj.key)
            body = response["Body"].read()
    except ClientError as exc:
        # Deleted between listing and download: it is gone, so its chunks go too.
        log.warning("%s disappeared while ingesting (%s); treating it as deleted", uri, exc)
        return None
    # The ETag of the bytes actually read, not the listed one: if the object changed in
    # between, the stored version still matches the stored text.
    etag = str(response.get("ETag", obj.etag)).strip('"')
    try:
        return body.decode("utf-8"), etag
    except UnicodeDecodeError:
        return "", etag


@contextmanager
def _translated_errors(
    client: Any, uri: str, action: str, passthrough: tuple[str, ...] = ()
) -> Iterator[None]:
    """Turn boto errors into S3SourceError messages that say what to check."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    endpoint = client.meta.endpoint_url
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in passthrough:
            raise
        if code in ("NoSuchBucket", "404"):
            raise S3SourceError(
                f"cannot {action} {uri}: the bucket does not exist at {endpoint}. "
                "Check the bucket name (and AWS_REGION / AWS_ENDPOINT_URL)."
            ) from exc
        if code in _DENIED or code == "403":
            raise S3SourceError(
                f"cannot {action} {uri}: access denied ({code}). The credentials need "
                "s3:ListBucket on the bucket and s3:GetObject on its objects."
            ) from exc
        message = f"{code} {error.get('Message', '')}".strip()
        raise S3SourceError(f"cannot {action} {uri}: {message}") from exc
    except NoCredentialsError as exc:
        raise S3SourceError(
            f"cannot {action} {uri}: no AWS credentials. Set AWS_PROFILE (or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or run with a task role."
        ) from exc
    except NoRegionError as exc:
        raise S3SourceError(f"cannot {action} {uri}: no AWS region. Set AWS_REGION.") from exc
    except (EndpointConnectionError, ConnectTimeoutError) as exc:
        raise S3SourceError(
            f"cannot {action} {uri}: S3 at {endpoint} is not reachable ({exc}). "
            "Check the network, or AWS_ENDPOINT_URL / WWHD_S3_ENDPOINT_URL."
        ) from exc


__all__ = ["S3IngestReport", "S3SourceError", "ingest_s3", "list_markdown_objects", "s3_client"]
