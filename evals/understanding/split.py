"""Re-split the understanding dataset by template family: `python -m evals.understanding.split`.

All rows of the three split files (plus any extra JSONL files given) are pooled and each family
goes whole to one split, chosen by a hash of its id alone, so a family never moves when rows or
families are added (about 55% train, 20% dev, 25% test).
Families named `exp-*` (the earlier red-flag experiment, already seen while designing) never go
to test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from pathlib import Path

from wwhd.evals.understanding.dataset import (
    DATA_DIR,
    SPLITS,
    Message,
    load_split,
    parse_row,
    to_row,
)

# Out of every 20 families of a label group: 11 train, 4 dev, 5 test.
PATTERN = ("train", "test", "train", "dev", "train", "test", "train", "train", "dev", "test",
           "train", "train", "test", "dev", "train", "train", "test", "train", "dev", "train")


def _order(family: str) -> str:
    return hashlib.sha256(family.encode()).hexdigest()


def assign(messages: list[Message]) -> dict[str, str]:
    """Family id -> split."""
    splits = {}
    for family in {m.family for m in messages}:
        split = PATTERN[int(_order(family)[:8], 16) % len(PATTERN)]
        splits[family] = "train" if family.startswith("exp-") and split == "test" else split
    return splits


def main(argv: list[str] | None = None) -> int:
    """Pool, de-duplicate, assign families, write the three files; print the counts."""
    parser = argparse.ArgumentParser(prog="python -m evals.understanding.split",
                                     description=__doc__)
    parser.add_argument("extra", nargs="*", type=Path, help="more JSONL files of labelled rows")
    args = parser.parse_args(argv)
    pooled = [m for split in SPLITS if (DATA_DIR / f"{split}.jsonl").exists()
              for m in load_split(split)]
    for path in args.extra:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                pooled.append(parse_row(json.loads(line), f"{path}:{number}"))
    seen, unique = set(), []
    for m in pooled:
        key = (m.text.strip().lower(), json.dumps(m.history, sort_keys=True))
        if key not in seen:
            seen.add(key)
            unique.append(m)
    splits = assign(unique)
    for split in SPLITS:
        rows = [to_row(m) for m in unique if splits[m.family] == split]
        with (DATA_DIR / f"{split}.jsonl").open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count = Counter(r["route"] for r in rows)
        print(f"{split}: {len(rows)} messages, {len({r['family'] for r in rows})} families, "
              + ", ".join(f"{k} {v}" for k, v in sorted(count.items())))
    print(f"dropped {len(pooled) - len(unique)} duplicates")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
