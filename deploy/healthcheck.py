"""Container health check: exit 0 when GET /health answers 200, else 1 with the reason.

Used by the Dockerfile's HEALTHCHECK and the ECS task definition. The image has no curl, and the
standard library keeps this to one small interpreter start per check.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 8


def main() -> int:
    """Probe http://127.0.0.1:$PORT/health once."""
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/health"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:
        # 503 names the failing dependencies: print them so `docker inspect` / ECS shows why.
        try:
            failing = json.loads(exc.read() or b"{}").get("failing")
        except ValueError:
            failing = None
        print(f"{url}: HTTP {exc.code}, failing: {failing}", file=sys.stderr)
    except (OSError, urllib.error.URLError) as exc:
        print(f"{url}: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
