#!/usr/bin/env python3
"""Message dumps (Savant's layout) seen from Python, for the record/replay tests.

The layout is the one of Savant's buffer adapter (adapters/python/bridge/buffer.py,
MessageDumper) and message dump player (adapters/python/sources/message_dump_player.py):
segment files of msgpack records, each ``(time_ns, topic, message_bytes, content)``
packed with ``use_bin_type=True``; topic is what savant-rs gives (a list of ints),
message_bytes is ``save_message_to_bytes(message)``, content the extra parts joined.

  inspect DIR|PLAYLIST   one JSON line per record, read as Savant's player reads it
  write-dump DIR         write a dump as Savant's MessageDumper does (savant-rs messages)
  reader --socket S      a savant-rs reader: one JSON line per message, with its receive time

Every line is JSON on stdout.
"""

import argparse
import hashlib
import json
import os
import sys
import time

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import savant_peer as peer  # noqa: E402  (savant_rs, the 0.3.0/1.x differences)

ser = peer.ser


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def sha(b):
    return hashlib.sha256(bytes(b)).hexdigest()


def canon(m):
    """The message as savant-rs serializes it (same for the same content)."""
    return sha(ser.save_message_to_bytes(m))


def segments(path):
    if os.path.isdir(path):
        return sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".msgpack"))
    with open(path) as f:  # a playlist, as Savant's player takes
        return [line.strip() for line in f if line.strip()]


def cmd_inspect(args):
    for seg in segments(args.path):
        with open(seg, "rb") as f:
            unpacker = msgpack.Unpacker(f)
            while True:
                try:
                    rec = unpacker.unpack()
                except msgpack.OutOfData:
                    break
                ok_shape = isinstance(rec, (tuple, list)) and len(rec) == 4
                ev = {"event": "record", "segment": os.path.basename(seg), "shape_ok": ok_shape}
                if ok_shape:
                    ts, topic, meta, content = rec
                    m = ser.load_message_from_bytes(meta)  # what the player does
                    ev.update({
                        "types": [type(x).__name__ for x in rec],
                        "topic_items": sorted({type(x).__name__ for x in topic})
                        if isinstance(topic, list) else None,
                        "time_ns": ts,
                        "topic": bytes(topic).decode(),
                        "kind": peer.message_kind(m),
                        "message_sha": sha(meta),
                        "message_hex": bytes(meta).hex(),
                        "canon": canon(m),
                        "content_sha": sha(content) if content is not None else None,
                        "content_len": len(content) if content is not None else None,
                    })
                emit(ev)
    return 0


def cmd_write_dump(args):
    os.makedirs(args.dir, exist_ok=True)
    path = os.path.join(args.dir, time.strftime("dump-%Y-%m-%d-%H-%M-%S.msgpack", time.gmtime()))
    sources = args.sources.split(",")
    ts0 = time.time_ns()
    n = 0
    with open(path, "wb") as f:
        def put(topic, m, content):
            nonlocal n
            ts = ts0 + n * args.interval_ms * 1_000_000
            rec = (ts, list(topic.encode()), ser.save_message_to_bytes(m), content)
            f.write(msgpack.packb(rec, use_bin_type=True))
            emit({"event": "written", "topic": topic, "kind": peer.message_kind(m),
                  "canon": canon(m), "content_sha": sha(content), "content_len": len(content),
                  "time_ns": ts})
            n += 1

        for i in range(args.count):
            for s in sources:
                k = 200 + 37 * i
                put(s, peer.Message.video_frame(peer._peer_frame(s, i, k)), peer.payload_for(i, k))
        for s in sources:
            put(s, peer.Message.end_of_stream(peer.EndOfStream(s)), b"")
        if args.truncate:
            f.write(msgpack.packb((ts0, list(b"cut"), b"x" * 100, b"y" * 1000),
                                  use_bin_type=True)[:-300])
    emit({"event": "done", "path": path, "records": n})
    return 0


def cmd_reader(args):
    r, cfg = peer.make_reader(args.socket)
    emit({"event": "ready"})
    deadline = time.monotonic() + args.timeout
    eos = 0
    try:
        while eos < args.eos_count:
            if time.monotonic() >= deadline:
                emit({"event": "timeout", "eos": eos})
                return 3
            res = r.receive()
            name = peer.result_name(res)
            if name != "ReaderResultMessage":
                continue
            t = time.monotonic_ns()
            m = res.message
            content = b"".join(bytes(res.data(i)) for i in range(res.data_len()))
            kind = peer.message_kind(m)
            emit({"event": "message", "t_ns": t, "topic": bytes(res.topic).decode(),
                  "kind": kind, "canon": canon(m), "content_sha": sha(content),
                  "content_len": len(content),
                  "source_id": m.as_video_frame().source_id if kind == "frame" else
                  m.as_end_of_stream().source_id if kind == "eos" else None,
                  "propagated_context": dict(m.span_context.as_dict())})
            if kind == "eos":
                eos += 1
    finally:
        r.shutdown()
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("inspect")
    i.add_argument("path")
    w = sub.add_parser("write-dump")
    w.add_argument("dir")
    w.add_argument("--count", type=int, default=3)
    w.add_argument("--sources", default="cam-a,cam-b")
    w.add_argument("--interval-ms", type=int, default=40)
    w.add_argument("--truncate", action="store_true", help="end with a cut record")
    r = sub.add_parser("reader")
    r.add_argument("--socket", required=True)
    r.add_argument("--eos-count", type=int, required=True)
    r.add_argument("--timeout", type=float, default=60.0)
    args = p.parse_args()
    return {"inspect": cmd_inspect, "write-dump": cmd_write_dump, "reader": cmd_reader}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
