#!/usr/bin/env python3
"""Kafka-Redis record values, read and written with the real savant-rs
Python wheel (0.3.0 or 1.15.1), as Savant's Kafka-Redis adapters read and
write them (adapters/python/{sinks,sources}/kafka_redis.py): the value is
save_message_to_bytes(message), nothing around it.

  decode DIR      load_message_from_bytes every DIR/*.bin (sorted), one JSON
                  line each: kind, source id, pts, keyframe, uuid, content
  encode DIR --source-id S --count N --location-prefix HOST:PORT:DB
         [--key-prefix savant:frames] [--content-size K] [--keyframe-every M]
                  N frames with content External("redis", "<hpd>/<prefix>:<uuid>")
                  and an EOS, as Savant's sink writes them: DIR/NNNN.bin (the
                  value), DIR/NNNN.content (the bytes for Redis); one JSON line
                  per record (file, redis key, content file, pts, uuid)

Output: JSON lines on stdout; diagnostics on stderr.
"""

import argparse
import json
import os
import sys


def _installed():
    try:
        from importlib.metadata import version
        return version("savant-rs")
    except Exception:  # noqa: BLE001
        return None


if not (_installed() or "0").startswith("0."):
    os.environ.setdefault("LOGLEVEL", "warn")

import savant_rs  # noqa: E402
from savant_rs.primitives import (  # noqa: E402
    EndOfStream,
    VideoFrame,
    VideoFrameContent,
    VideoFrameTranscodingMethod,
)

try:
    from savant_rs.utils import serialization as ser
except ImportError:  # pragma: no cover
    ser = sys.modules["savant_rs.utils.serialization"]


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def kind(m):
    if m.is_video_frame():
        return "frame"
    if m.is_end_of_stream():
        return "eos"
    if m.is_unknown():
        return "unknown"
    return "other"


def content(c):
    if c.is_internal():
        return {"kind": "internal", "len": len(bytes(c.get_data()))}
    if c.is_external():
        return {"kind": "external", "method": c.get_method(), "location": c.get_location()}
    return {"kind": "none"}


def cmd_decode(args):
    for name in sorted(os.listdir(args.dir)):
        if not name.endswith(".bin"):
            continue
        with open(os.path.join(args.dir, name), "rb") as f:
            raw = f.read()
        m = ser.load_message_from_bytes(raw)
        out = {"file": name, "kind": kind(m)}
        if m.is_video_frame():
            fr = m.as_video_frame()
            out.update(source_id=fr.source_id, pts=fr.pts, keyframe=fr.keyframe,
                       uuid=fr.uuid, transcoding=str(fr.transcoding_method).split(".")[-1],
                       content=content(fr.content))
        elif m.is_end_of_stream():
            out.update(source_id=m.as_end_of_stream().source_id)
        emit(out)


def cmd_encode(args):
    os.makedirs(args.dir, exist_ok=True)
    n = 0
    for pts in range(args.count):
        frame = VideoFrame(
            source_id=args.source_id,
            framerate="25/1",
            width=320,
            height=240,
            content=VideoFrameContent.none(),
            transcoding_method=VideoFrameTranscodingMethod.Copy,
            codec="h264",
            keyframe=(pts % args.keyframe_every == 0),
            time_base=(1, 25),
            pts=pts,
            dts=None,
            duration=None,
        )
        key = f"{args.key_prefix}:{frame.uuid}"
        frame.content = VideoFrameContent.external("redis", f"{args.location_prefix}/{key}")
        data = bytes((pts * 7 + i) % 251 for i in range(args.content_size))
        base = os.path.join(args.dir, f"{n:04}")
        with open(base + ".bin", "wb") as f:
            f.write(bytes(ser.save_message_to_bytes(frame.to_message())))
        with open(base + ".content", "wb") as f:
            f.write(data)
        emit({"file": f"{n:04}.bin", "kind": "frame", "redis_key": key,
              "content": f"{n:04}.content", "pts": pts, "uuid": frame.uuid,
              "keyframe": frame.keyframe})
        n += 1
    base = os.path.join(args.dir, f"{n:04}")
    with open(base + ".bin", "wb") as f:
        f.write(bytes(ser.save_message_to_bytes(EndOfStream(args.source_id).to_message())))
    emit({"file": f"{n:04}.bin", "kind": "eos"})
    emit({"event": "done", "savant_rs": savant_rs.version(), "records": n + 1})


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("decode")
    d.add_argument("dir")
    d.set_defaults(fn=cmd_decode)
    e = sub.add_parser("encode")
    e.add_argument("dir")
    e.add_argument("--source-id", required=True)
    e.add_argument("--count", type=int, default=10)
    e.add_argument("--location-prefix", required=True)
    e.add_argument("--key-prefix", default="savant:frames")
    e.add_argument("--content-size", type=int, default=1000)
    e.add_argument("--keyframe-every", type=int, default=5)
    e.set_defaults(fn=cmd_encode)
    args = p.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
