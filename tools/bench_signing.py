"""What signing costs: the same zmq pipeline 1x1 run signed and unsigned, and per-item cost.

    uv run python tools/bench_signing.py            # 200,000 items per run, 3 rounds
    uv run python tools/bench_signing.py --quick    # 20,000 items per run, 3 rounds

Issue 12 asks that the HMAC over the signed envelope keep the per-item cost within 10% of
the unsigned path. Two measurements, printed and never asserted (times depend on the
machine and its load):

- end to end: `connector_zmq.bench`'s pipeline 1x1 scenario (one sender process, one
  receiver process, small pickled dicts), once with the default settings and once with
  `Settings(sign_messages=False)`, alternating, `--rounds` times each; the ratio is the
  median unsigned msgs/s over the median signed msgs/s (1.10 = signing costs 10%);
- in process: `Codec.seal` + `Codec.open` of one such item per frame, signed and unsigned,
  in microseconds per item (the best of 5 timings of 20,000 items), beside the signing
  before the envelope (`Codec.encode` + `Codec.decode`: the tag over the payload alone).

The unsigned runs' workers log the warning about unpickling unsigned messages (expected).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from connector_core import ConnectorMode, ConnectorSpec, Settings
from connector_core.codec import Codec


def _end_to_end(settings: Settings, count: int) -> float:
    """Messages per second of one zmq pipeline 1x1 run under `settings`."""
    from connector_zmq import ZMQConnector
    from connector_zmq.bench import _measure, _Proc

    connector = ZMQConnector(
        ConnectorSpec("bench.out", "sink.in", ConnectorMode.PIPELINE), settings=settings
    )
    consumer = _Proc("zmq-consumer", count, connector=connector)
    consumer.read()  # connected
    producer = _Proc("zmq-producer", count, connector=connector)
    measured = _measure([consumer], producer, count)
    return measured.rate


_ITEM: dict[str, Any] = {"i": 1, "t": time.monotonic_ns(), "payload": "x" * 64}


def _per_item_us(codec: Codec, envelope: bool = True, count: int = 20_000) -> float:
    """Microseconds to seal and open one small dict per frame (best of 5).

    `envelope=False` times the signing before the envelope: `encode` + `decode`.
    """
    sender = b"benchmrk"
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        if envelope:
            for seq in range(1, count + 1):
                codec.open(codec.seal([_ITEM], sender, seq))
        else:
            for _seq in range(count):
                codec.decode(codec.encode(_ITEM))
        best = min(best, time.perf_counter() - start)
    return best / count * 1e6


def main(argv: list[str]) -> int:
    """Runs both measurements and prints them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="20,000 items per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each kind")
    args = parser.parse_args(argv)
    count = 20_000 if args.quick else 200_000

    signed_codec = Codec.generate().bound("bench")
    unsigned_codec = Codec(key=None).bound("bench")
    signed_us, unsigned_us = _per_item_us(signed_codec), _per_item_us(unsigned_codec)
    legacy_us = _per_item_us(signed_codec, envelope=False)
    print(
        f"in process, per item: envelope signed {signed_us:.2f} us, envelope unsigned "
        f"{unsigned_us:.2f} us (signed / unsigned {signed_us / unsigned_us:.3f}); "
        f"signed without envelope {legacy_us:.2f} us (envelope / before "
        f"{signed_us / legacy_us:.3f})"
    )

    signed: list[float] = []
    unsigned: list[float] = []
    for _ in range(args.rounds):
        signed.append(_end_to_end(Settings(), count))
        unsigned.append(_end_to_end(Settings(sign_messages=False), count))
    s, u = statistics.median(signed), statistics.median(unsigned)
    print(f"zmq pipeline 1x1, {count} items, {args.rounds} rounds each (msgs/s):")
    print(f"  signed   {', '.join(f'{x:,.0f}' for x in signed)}  median {s:,.0f}")
    print(f"  unsigned {', '.join(f'{x:,.0f}' for x in unsigned)}  median {u:,.0f}")
    print(f"  unsigned / signed = {u / s:.3f} (signing costs {100 * (u / s - 1):+.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
