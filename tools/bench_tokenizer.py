"""How fast is tt-tokenization's byte-level BPE? (issue: Language, module 10)

Trains a 1,024-token vocabulary on Tiny Shakespeare (1.1 MB) and encodes the
whole corpus with it; targets: training <= 30 s, encoding <= 5 s. Runs both
with the GPT-2-style regex pre-split (the default) and without any pre-split
(one 1.1 MB "word", which exercises the incremental pair counts hardest).
Also checks that decoding gives the corpus back.

    uv run python tools/bench_tokenizer.py [--data DIR] [--vocab 1024] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from tt_tokenization import GPT2_SPLIT_PATTERN, BPETokenizer

TRAIN_TARGET_S = 30.0
ENCODE_TARGET_S = 5.0


def corpus(data: Path | None) -> Path:
    root = data or Path(os.environ.get("TINYTORCH_DATA", "../shared/data"))
    return root / "tinyshakespeare" / "input.txt"


def machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (
        f"{platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"load average at start {load[0]:.2f}"
    )


def run(text: str, vocab: int, pattern: str | None) -> dict[str, float]:
    t0 = time.perf_counter()
    tok = BPETokenizer.train(text, vocab, pattern=pattern)
    t1 = time.perf_counter()
    ids = tok.encode(text)
    t2 = time.perf_counter()
    back = tok.decode(ids)
    t3 = time.perf_counter()
    if back != text:
        raise AssertionError("decode(encode(corpus)) != corpus")
    return {
        "train_s": t1 - t0,
        "encode_s": t2 - t1,
        "decode_s": t3 - t2,
        "tokens": float(len(ids)),
        "bytes_per_token": len(text.encode()) / len(ids),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--vocab", type=int, default=1024)
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "tokenizer.md")
    args = p.parse_args()
    path = corpus(args.data)
    text = path.read_text(encoding="utf-8")
    info = machine()
    rows = []
    for label, pattern in (("GPT-2-style regex pre-split", GPT2_SPLIT_PATTERN), ("none", None)):
        r = run(text, args.vocab, pattern)
        rows.append((label, r))
        print(
            f"{label:30s} train {r['train_s']:6.2f} s   encode {r['encode_s']:6.2f} s   "
            f"decode {r['decode_s']:5.2f} s   {int(r['tokens']):,} tokens "
            f"({r['bytes_per_token']:.2f} bytes/token)"
        )
    main_row = rows[0][1]
    ok_train = main_row["train_s"] <= TRAIN_TARGET_S
    ok_encode = main_row["encode_s"] <= ENCODE_TARGET_S
    verdict = (
        f"train {main_row['train_s']:.2f} s (target <= {TRAIN_TARGET_S:.0f} s: "
        f"{'met' if ok_train else 'MISSED'}), encode {main_row['encode_s']:.2f} s "
        f"(target <= {ENCODE_TARGET_S:.0f} s: {'met' if ok_encode else 'MISSED'})"
    )
    print(verdict)
    lines = [
        "# BPE tokenizer benchmark",
        "",
        f"Byte-level BPE (tt-tokenization) trained to a {args.vocab}-token vocabulary on "
        f"`{path.name}` ({len(text):,} characters, {len(text.encode()):,} bytes), then "
        "encoding the whole corpus and decoding it back (checked equal).",
        "",
        f"Machine: {info}. The machine is shared with other engineers' jobs, so these "
        "times are pessimistic.",
        "",
        "Command: `uv run python tools/bench_tokenizer.py`",
        "",
        "| pre-split | train (s) | encode (s) | decode (s) | tokens | bytes/token |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, r in rows:
        lines.append(
            f"| {label} | {r['train_s']:.2f} | {r['encode_s']:.2f} | {r['decode_s']:.2f} | "
            f"{int(r['tokens']):,} | {r['bytes_per_token']:.2f} |"
        )
    lines += [
        "",
        f"Targets (default pre-split): {verdict}.",
        "",
        "Training counts pairs once, then each merge touches only the positions of the merged",
        "pair (a pair -> positions index, a doubly linked list of symbols and a lazy max-heap",
        "of counts). Encoding caches each pre-split chunk; chunks longer than 64 bytes (the",
        "no-pre-split case is one 1.1 MB chunk) are merged with a (rank, position) heap.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"written to {args.out}")
    return 0 if ok_train and ok_encode else 1


if __name__ == "__main__":
    raise SystemExit(main())
