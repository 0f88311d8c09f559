"""The `wwhd` command: ingest documents, serve the graphs, run the evals."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from wwhd.core.errors import (
    ConfigurationError,
    EmbeddingMismatch,
    ServiceUnavailable,
    StoreUnavailable,
    UnsupportedUpstream,
)
from wwhd.core.settings import load_settings
from wwhd.server.secrets import load_secrets_into_environ

log = logging.getLogger("wwhd")


def _ingest(args: argparse.Namespace) -> int:
    from wwhd.tools.ingest import ingest_directory
    from wwhd.tools.store import close_all, open_knowledge_base

    settings = load_settings()
    source = args.path or str(settings.corpus_dir)
    kb = open_knowledge_base(settings)
    print(f"Ingesting {source} into {settings.collection} at {settings.qdrant_location}")
    if source.startswith("s3://"):
        from wwhd.tools.s3 import ingest_s3, s3_client

        report = ingest_s3(kb, source, progress=not args.quiet, recreate=args.recreate,
                           client=s3_client(settings.s3_endpoint_url))
    else:
        report = ingest_directory(
            kb, Path(source), progress=not args.quiet, recreate=args.recreate
        )
    print(report.summary())
    close_all()
    if report.errors and args.strict:
        return 1
    return 0


def _serve(args: argparse.Namespace) -> int:
    from wwhd.server.launch import check_startup, serve
    from wwhd.tools.ingest import ingest_directory
    from wwhd.tools.store import close_all, open_knowledge_base

    settings = load_settings()
    check_startup(settings)
    if not args.no_ingest:
        try:
            kb = open_knowledge_base(settings)
            points = kb.count()
            if points == 0:
                print(f"The collection is empty: ingesting {settings.corpus_dir} (first run).")
                print(ingest_directory(kb, settings.corpus_dir).summary())
            else:
                kb.check_compatible()
                print(f"Knowledge base: {points} passages in {settings.qdrant_location}.")
        except StoreUnavailable as exc:
            if not settings.qdrant_url:
                raise  # the embedded store is ours: failing to open it is a real error
            # A Qdrant server may come up after us: serve anyway, /health says what is wrong.
            print(f"wwhd: warning: {exc} Serving anyway; /health reports 503 until it is up.",
                  file=sys.stderr)
        # The embedded store locks its folder; the server process must be able to open it.
        close_all()
    host = args.host if args.host is not None else settings.host
    port = args.port if args.port is not None else settings.port
    serve(host, port, production=args.production)
    return 0


def _eval(args: argparse.Namespace) -> int:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "`wwhd eval` needs the evals extra: pip install 'wwhd-agent[evals]' "
            "(make install includes it)"
        ) from None
    from wwhd.evals.runner import main as run_evals

    return run_evals(args)


def _train_router(args: argparse.Namespace) -> int:
    from wwhd.evals.understanding.train import main as train

    return train(args)


def _train_answers(args: argparse.Namespace) -> int:
    from wwhd.evals.answering.train import main as train

    return train(args)


def _eval_router(args: argparse.Namespace) -> int:
    from wwhd.evals.understanding.evaluate import main as evaluate_router

    return evaluate_router(args)


def _deploy(args: argparse.Namespace) -> int:
    from wwhd.deploy.deploy import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    """The `wwhd` argument parser (also used to render --help in the README)."""
    parser = argparse.ArgumentParser(
        prog="wwhd",
        description="W.W.H.D. agent server: ingest the knowledge base, serve the LangGraph "
        "graphs, run the evals. Configuration comes from the environment (see README).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser(
        "ingest",
        help="chunk, embed and upsert Markdown documents into Qdrant (incremental)",
        description="Ingest Markdown documents with front matter from a folder, a file or an "
        "s3://bucket/prefix. Unchanged chunks are skipped, changed ones replaced, and "
        "documents removed from the source are removed from the collection. Malformed "
        "documents are reported by name and skipped.",
    )
    ingest.add_argument(
        "path", nargs="?", help="folder, file or s3://bucket/prefix (default: WWHD_CORPUS_DIR)"
    )
    ingest.add_argument(
        "--recreate", action="store_true",
        help="drop and rebuild the collection (needed after changing the embedding model)",
    )
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.add_argument(
        "--strict", action="store_true", help="exit 1 if any document was skipped"
    )
    ingest.set_defaults(func=_ingest)

    serve = commands.add_parser(
        "serve",
        help="run the LangGraph API server (langgraph dev; --production: uvicorn)",
        description="Serve the graphs of langgraph.json. Ingests the bundled corpus first if "
        "the collection is empty. If the port is taken, a free one is used and printed. With "
        "DATABASE_URL and REDIS_URL set, serves one replica of a cluster instead (Aegra on "
        "PostgreSQL + Redis; run it from .venv-cluster, see `make cluster`), on exactly that "
        "port.",
    )
    serve.add_argument("--host", help="interface to listen on (default: HOST, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: PORT, else 2024; 0: any free "
                       "port). A port in use is replaced by a free one; the URL is printed.")
    serve.add_argument(
        "--production", action="store_true",
        help="serve with uvicorn and the inmem runtime, as the container does",
    )
    serve.add_argument(
        "--no-ingest", action="store_true", help="do not ingest the corpus into an empty collection"
    )
    serve.set_defaults(func=_serve)

    evaluate = commands.add_parser(
        "eval",
        help="run the eval suite and write a JSON file and a report",
        description="Score the assistant on the curated questions in evals/datasets.",
    )
    from wwhd.evals.runner import add_arguments

    add_arguments(evaluate)
    evaluate.set_defaults(func=_eval)

    train_router = commands.add_parser(
        "train-router",
        help="train the router's question classifier from evals/understanding/data",
        description="Fit the router's classifier (red flags, injections, scope, topic) on the "
        "understanding dataset's train and dev splits and write graphs/model/. The test split "
        "is never read. Needs the dev extra (scikit-learn).",
    )
    from wwhd.evals.understanding.train import add_arguments as add_train_arguments

    add_train_arguments(train_router)
    train_router.set_defaults(func=_train_router)

    train_answers = commands.add_parser(
        "train-answers",
        help="train the quote ranker and the evidence gate on the train and dev cases",
        description="Route and retrieve every train and dev case with the real graph over the "
        "ingested knowledge base, then fit the extractive answer's quote ranker and the "
        "not-covered evidence gate and write graphs/model/answers.json. The test split is never "
        "read. "
        "Needs the dev extra (scikit-learn).",
    )
    from wwhd.evals.answering.train import add_arguments as add_train_answers_arguments

    add_train_answers_arguments(train_answers)
    train_answers.set_defaults(func=_train_answers)

    eval_router = commands.add_parser(
        "eval-router",
        help="score the router on the understanding dataset (test split by default)",
        description="Route every labelled message (conversation replayed) and report red-flag "
        "recall by kind, false alarms, scope, injection and routing accuracy, slices and "
        "confusion matrices. --gate exits 1 outside evals/understanding/thresholds.json.",
    )
    from wwhd.evals.understanding.evaluate import add_arguments as add_eval_router_arguments

    add_eval_router_arguments(eval_router)
    eval_router.set_defaults(func=_eval_router)
    deploy = commands.add_parser(
        "deploy",
        help="register the ECS task definition and create or update the Fargate service",
        description="Deploy to AWS ECS Fargate (see deploy/deploy.py and the README's AWS "
        "section). --dry-run prints what would change and changes nothing.",
    )
    from wwhd.deploy.deploy import add_arguments as add_deploy_arguments

    add_deploy_arguments(deploy)
    deploy.set_defaults(func=_deploy)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `wwhd` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command in ("ingest", "serve", "eval", "eval-router", "train-answers"):
            # Before settings are read: OPENAI_API_KEY also picks the embedding model.
            load_secrets_into_environ()
        return args.func(args)
    except ConfigurationError as exc:
        print(f"wwhd: configuration error: {exc}", file=sys.stderr)
        return 2
    except (StoreUnavailable, EmbeddingMismatch, UnsupportedUpstream, ServiceUnavailable,
            FileNotFoundError) as exc:
        print(f"wwhd: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
