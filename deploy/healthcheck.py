"""Container health check (liveness): exit 0 when GET /ok answers 200, else 1 with the reason.

Used by the Dockerfile's HEALTHCHECK and the ECS task definition. Liveness only: a dependency
that is down (the chat model, a Qdrant server) must not get the task replaced, which would turn
a degraded service into an outage; `/health` reports readiness for people and monitors. The
image has no curl, and the standard library keeps this to one small interpreter start per check.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 8


def main() -> int:
    """Probe http://127.0.0.1:$PORT/ok once."""
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/ok"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(f"{url}: HTTP {exc.code}", file=sys.stderr)
    except (OSError, urllib.error.URLError) as exc:
        print(f"{url}: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
