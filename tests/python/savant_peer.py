#!/usr/bin/env python3
"""Reference Savant peer built on the savant-rs Python wheel: 0.3.0 (Savant
0.4.x, from the package registry) or 1.15.1 (Savant 0.6.x, the wheel in
shared/wheels); the version is detected with savant_rs.version().

Used by the Rust integration tests as a *real* savant-rs counterpart:

  vectors gen DIR           write golden vectors DIR/NAME.bin + DIR/NAME.json
  vectors verify DIR        decode DIR/NAME.ours.bin (written by the Rust SDK)
                            with savant_rs and compare every value
  writer  --socket SPEC ... send frames (+EOS/+Shutdown) with BlockingWriter
  reader  --socket SPEC ... receive with BlockingReader, one JSON line per result
  bench-writer / bench-reader   throughput pair (two processes)
  standin --input SPEC --output SPEC [--mark NS/NAME] [--trace-log]
                            stand-in Savant module: forwards every message
          [--ack-after-forward]   (rep input) OK only once forwarded
  healthcheck-server --port P --status-file F
                            Savant's module healthcheck endpoint (spec 6.2)

Output: JSON lines on stdout (flushed per line); diagnostics on stderr.

Examples (PY = /work/main/.venv/bin/python, PEER = tests/python/savant_peer.py):
  PY PEER vectors gen /tmp/v            -> /tmp/v/NAME.bin, /tmp/v/NAME.json
  PY PEER vectors verify /tmp/v         (reads /tmp/v/NAME.ours.bin; exit 1 on any failure)
  PY PEER reader --socket router+bind:ipc:///tmp/x/in.ipc --eos-count 1
  PY PEER writer --socket dealer+connect:ipc:///tmp/x/in.ipc --source-id cam-1 \
        --count 10 --content-size 1000 --eos --shutdown secret
  PY PEER bench-reader --socket router+bind:ipc:///tmp/b/in.ipc --count 20000
  PY PEER bench-writer --socket dealer+connect:ipc:///tmp/b/in.ipc --count 20000 --content-size 0
  PY PEER standin --input router+bind:ipc:///tmp/s/in.ipc \
        --output dealer+connect:ipc:///tmp/s/out.ipc --mark standin/seen --trace-log
  PY PEER healthcheck-server --port 0 --status-file /tmp/s/status
  PY PEER writer --socket dealer+connect:ipc:///tmp/s/in.ipc --source-id cam-1 \
        --count 3 --eos --trace w3c        (or --trace jaeger)

Under savant-rs 1.15 (see the IS_1X branches)
* LOGLEVEL defaults to warn (set before the import).
* The writer stamps protocol_version "1.15.1", system_id (a UUIDv4 per
  writer) and seq_id (per writer and source; EOS resets; updates, batches,
  shutdown and unknown on one auxiliary counter) when it sends: ids are
  read back from the sent Message after send_message (writer lines carry
  "system_id"). `vectors gen` sends every case through a PUB writer with no
  subscriber first, so the golden bytes and the sidecar carry that writer's
  system_id and seq ids.
* Readers drop a message whose protocol_version is not exactly "1.15.1"
  (ReaderResultMessageVersionMismatch, printed with its repr as "detail")
  and send no acknowledgement; load_message_from_bytes turns such bytes
  into Message.unknown(...).
* Tracing: savant_rs.telemetry.init(TelemetryConfiguration(W3C|Jaeger,
  tracer=None)) replaces init_noop_tracer/init_jaeger_tracer.
* AttributeValue.rbbox/rbboxes carry RBBox (bbox takes an axis-aligned BBox).

Exit codes: 0 ok; 1 vector failure / exception; 2 writer got AckTimeout or
SendTimeout (e.g. EOS not acknowledged); 3 reader/bench-reader timed out.

Deviations from the brief / things the 0.3.0 API cannot do directly
---------------------------------------------------------------------------
* seq_id / protocol_version: savant_rs 0.3.0 has NO getter for the envelope
  seq_id or protocol_version (Message only exposes labels and span_context).
  They are read from the serialized bytes by `envelope_scalars()` below, a
  15-line scan of the *top-level* protobuf envelope (fields 1 and 4 only).
  For messages received from the ZeroMQ reader the bytes are obtained by
  re-serializing the received Message with save_message_to_bytes (which
  keeps the decoded seq_id; verified: decode->save is byte-identical).
* propagated_context (labels_context case): 0.3.0 lets you assign
  `Message.span_context = <PropagatedContext>` but PropagatedContext has no
  constructor and no way to build one from a dict; the only sources are a
  live TelemetrySpan (random trace/span ids) or a decoded message.  To get
  the EXACT requested traceparent/tracestate we serialize a carrier message
  with savant_rs, append the map entries (envelope field 3) with a tiny
  hand-written protobuf encoder (`_carrier_context()`), decode that with
  load_message_from_bytes and assign its span_context to the real message.
  The golden bytes themselves are still produced by save_message_to_bytes.
  routing labels are settable directly (`Message.labels = [...]`).
* VideoObject(...) in 0.3.0 takes no draw_label and no parent: objects are
  added with VideoFrame.add_object(obj, IdCollisionResolutionPolicy.Error),
  then `frame.get_object(1).draw_label = "P"` and
  `frame.set_parent_by_id(2, 1)`.
* Reading back, some values have no getter in 0.3.0 and are taken from the
  public `.json` properties instead: polygon vertices (PolygonalArea has no
  vertex getter), object parent_id and the *raw* draw_label (the
  BorrowedVideoObject.draw_label getter falls back to the label), attribute
  values (AttributeValue.json), VideoFrameUpdate frame/object attributes.
  Known JSON quirks handled: an absent bbox angle is shown as f32::MAX
  (3.4028235e38) -> mapped back to None; VideoFrame.json shows a bogus
  creation_timestamp_ns (the property is used instead); VideoFrame.json and
  VideoFrame.attributes omit hidden attributes, so attributes are enumerated
  as attributes + find_attributes_with_ns(expected namespaces) +
  find_attributes_with_hints([None] + expected hints).
* VideoObject (used inside VideoFrameUpdate) has no draw_label getter in
  0.3.0, so draw_label of update objects is not verified.
* All cases of the brief are expressible; none was left out.

Reader notes
* 0.3.0 has no ReaderResultEndOfStream class: EOS arrives as a
  ReaderResultMessage whose message.is_end_of_stream() is true (with no
  extra parts).  A routing-id mismatch is reported by 0.3.0 as
  ReaderResultPrefixMismatch.  TooShort has no Python class in 0.3.0: receive()
  returns a plain list of the received parts; it is printed as
  {"event": "ReaderResultTooShort", "topic": null, "parts_hex": [...]}.
* Decode errors: receive() raises RuntimeError("Failed to decode protobuf
  message: ..."); printed as {"event":"error"} (the Rust backtrace that
  RUST_BACKTRACE=1 appends is cut off; the full text goes to stderr).
* Without --count/--eos-count the reader runs until --timeout and exits 0.

Tracing (writer --trace w3c|jaeger)
* 0.3.0 API: savant_rs.init_noop_tracer() (installs the W3C TraceContext
  propagator), savant_rs.init_jaeger_tracer(service_name, "host:port")
  (Jaeger agent over UDP; works with no agent listening: spans are sent
  to nowhere and at exit opentelemetry prints "OpenTelemetry trace error
  occurred. Exporter jaeger encountered the following error(s): thrift agent
  failed on transportation layer, not open, Connection refused (os error 111)"
  on stderr, exit code unaffected), savant_rs.utils.TelemetrySpan(name)
  (a root span when no span is active; .trace_id() 32 hex, .span_id(),
  .propagate() -> PropagatedContext, context manager), Message.span_context
  (settable).  Message constructors do NOT inject the current span, and
  neither does BlockingWriter: the writer assigns
  `msg.span_context = span.propagate()` inside `with span:`.
* Keys written: w3c -> {"traceparent": "00-<trace>-<span>-01", "tracestate": ""};
  jaeger -> {"uber-trace-id": "<trace>:<span>:0:1"}.  Without an init call
  spans are invalid (trace id all zeros) and propagate() is empty.
* Each frame line gets "trace_id" (32 hex, or null without --trace); EOS and
  Shutdown are sent outside any span (their lines are unchanged).

Stand-in module (standin)
* BlockingReader on --input (receive timeout --receive-timeout-ms, default
  100) and BlockingWriter on --output.  Every ReaderResultMessage is sent on
  with send_message(topic, message, extra): the *received Message object
  itself* is forwarded, so seq_id, protocol_version, routing labels and
  span_context (PropagatedContext) leave exactly as they arrived.  With
  --mark NS/NAME a frame gets the persistent attribute NS/NAME =
  [String "savant-rs"] first (VideoFrame from as_video_frame() is a live
  view: the change is in the forwarded message).  --restamp instead builds
  new VideoFrame/EOS/UserData messages as a Savant module's sink does (new
  seq_id from this process' per-source counter) and copies labels and
  span_context onto them.
* Extra parts: 0.3.0 send_message takes exactly one `extra` bytes, so the
  forwarded message always has exactly one extra part: the received extra
  parts concatenated (b"" when there were none, e.g. EOS) - the layout of
  a Savant module output (spec 5.3).
* EOS is forwarded as a message (not send_eos), so a DEALER/REQ output waits
  for the downstream ack; on PUB it is fire-and-forget.
* stdout: {"event":"ready",...} once both sockets are started; with
  --trace-log one {"event":"forwarded","kind","topic","seq_id","extra_parts",
  "result","propagated_context"} line per message (nothing per message
  otherwise); a final {"event":"stopped","reason":...,"forwarded":N}.
  Exit 0 on SIGTERM/SIGINT or after --idle-exit SECS with no message
  received; 1 if the output writer fails (RuntimeError).
* --ack-after-forward (input rep+bind/rep+connect only): savant-rs's rep
  reader answers OK as it receives, so a module killed after that loses the
  message it had taken. With this flag the input is a pyzmq REP socket
  instead: each [topic, message, extra...] is decoded by savant-rs
  (load_message_from_bytes), forwarded by the savant-rs writer as above,
  and only then answered OK; with a req output (which waits for the
  downstream OK) a SIGKILL of the stand-in loses nothing its sender saw
  acknowledged. Used by the buffer's restart tests (cli/tests/cli_buffer.rs).

Healthcheck server (healthcheck-server)
* Behaves like Savant's savant/healthcheck/server.py: BaseHTTPRequestHandler
  (HTTP/1.0, body delimited by connection close, no Content-Length),
  `Content-type: plain/text` on every response (200/503/404), path compared
  exactly (a query string makes it 404), status file read as bytes and
  whitespace-stripped; 200 iff that is exactly b"running", else 503 with the
  body; unreadable file -> 503 with empty body; methods other than GET get
  http.server's own 501.  Listens on 127.0.0.1 (--host to change); --port 0
  picks a free port; prints {"event":"ready","port":P}; exits 0 on
  SIGTERM/SIGINT.
"""

import argparse
import json
import math
import os
import signal
import sys
import threading
import time


def _installed_savant_rs():
    """The installed savant-rs version, read before importing it."""
    try:
        from importlib.metadata import version as _dist_version
        return _dist_version("savant-rs")
    except Exception:  # noqa: BLE001
        return None


# savant-rs 1.x logs every call at TRACE level unless LOGLEVEL is set before
# the import (it reads LOGLEVEL, not RUST_LOG).
if not (_installed_savant_rs() or "0").startswith("0."):
    os.environ.setdefault("LOGLEVEL", "warn")

import savant_rs  # noqa: E402  (registers the sub-modules)

SAVANT_RS_VERSION = savant_rs.version()
# savant-rs 1.15+: the writer numbers messages itself (per writer and
# source) and stamps Message.system_id; Message has seq_id/system_id
# getters; clear_source_seq_id / validate_seq_id and the init_*_tracer
# functions are gone (savant_rs.telemetry.init instead); load_message*
# turns a message of another protocol version into Message.unknown(...).
IS_1X = not SAVANT_RS_VERSION.startswith("0.")
from savant_rs.primitives import (
    Attribute,
    AttributeUpdatePolicy,
    AttributeValue,
    EndOfStream,
    IdCollisionResolutionPolicy,
    ObjectUpdatePolicy,
    Shutdown,
    UserData,
    VideoFrame,
    VideoFrameBatch,
    VideoFrameContent,
    VideoFrameTranscodingMethod,
    VideoFrameTransformation,
    VideoFrameUpdate,
    VideoObject,
)
from savant_rs.primitives.geometry import (
    Intersection,
    IntersectionKind,
    Point,
    PolygonalArea,
    RBBox,
)
from savant_rs.zmq import (
    BlockingReader,
    BlockingWriter,
    ReaderConfigBuilder,
    TopicPrefixSpec,
    WriterConfigBuilder,
    WriterSocketType,
)

from savant_rs.utils import TelemetrySpan

if IS_1X:
    import savant_rs.telemetry as _telemetry
else:
    from savant_rs import init_jaeger_tracer, init_noop_tracer

try:  # the wheel registers the sub-module only in sys.modules
    from savant_rs.utils import serialization as ser
except ImportError:  # pragma: no cover
    ser = sys.modules["savant_rs.utils.serialization"]

Message = ser.Message
AV = AttributeValue
# 1.x splits AttributeValue.bbox (axis-aligned BBox) from rbbox (RBBox, with
# angle); 0.3.0's bbox takes an RBBox.
_AV_RBBOX = AV.rbbox if IS_1X else AV.bbox
_AV_RBBOXES = AV.rbboxes if IS_1X else AV.bboxes

# --------------------------------------------------------------------------
# output helpers
# --------------------------------------------------------------------------


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=False) + "\n")
    sys.stdout.flush()


def log(*args):
    print("[savant_peer]", *args, file=sys.stderr, flush=True)


def result_name(res):
    return type(res).__name__


# --------------------------------------------------------------------------
# minimal protobuf helpers (see module docstring for why they exist)
# --------------------------------------------------------------------------


def _read_varint(b, i):
    r = 0
    sh = 0
    while True:
        if i >= len(b):
            raise ValueError("truncated varint")
        c = b[i]
        i += 1
        r |= (c & 0x7F) << sh
        sh += 7
        if not c & 0x80:
            return r, i


def envelope_scalars(raw):
    """(protocol_version, seq_id) from the top level of a protocol.Message."""
    version, seq_id, _ = envelope_fields(raw)
    return version, seq_id


def envelope_fields(raw):
    """(protocol_version, seq_id, system_id) from the top level of a
    protocol.Message (fields 1, 4 and 20; system_id is "" before 1.15)."""
    i = 0
    version = ""
    seq_id = 0
    system_id = ""
    while i < len(raw):
        key, i = _read_varint(raw, i)
        fn, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _read_varint(raw, i)
            if fn == 4:
                seq_id = v
        elif wt == 2:
            ln, i = _read_varint(raw, i)
            if fn == 1:
                version = bytes(raw[i:i + ln]).decode("utf-8", "replace")
            elif fn == 20:
                system_id = bytes(raw[i:i + ln]).decode("utf-8", "replace")
            i += ln
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        else:
            raise ValueError("unsupported wire type %d" % wt)
    return version, seq_id, system_id


def _enc_varint(n):
    out = bytearray()
    while True:
        c = n & 0x7F
        n >>= 7
        if n:
            out.append(c | 0x80)
        else:
            out.append(c)
            return bytes(out)


def _ld(fn, payload):
    return _enc_varint((fn << 3) | 2) + _enc_varint(len(payload)) + payload


def _carrier_context(ctx):
    """A savant_rs PropagatedContext holding exactly `ctx` (dict str->str)."""
    carrier = ser.save_message_to_bytes(Message.unknown("context-carrier"))
    extra = b""
    for k, v in ctx.items():
        entry = _ld(1, k.encode())
        if v:
            entry += _ld(2, v.encode())
        extra += _ld(3, entry)  # envelope field 3 = propagated_context entry
    decoded = ser.load_message_from_bytes(carrier + extra)
    got = decoded.span_context.as_dict()
    if got != ctx:
        raise RuntimeError("context carrier failed: %r" % (got,))
    return decoded.span_context


# --------------------------------------------------------------------------
# golden vector cases: builders (savant_rs API)
# --------------------------------------------------------------------------

CASES = [
    "frame_full",
    "frame_minimal",
    "frame_external",
    "eos",
    "shutdown",
    "user_data",
    "batch",
    "update",
    "unknown",
    "labels_context",
]

TRACE_CTX = {
    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "tracestate": "",
}
ROUTING_LABELS = ["l1", "l2"]
FULL_CONTENT = b"\xff\xd8\xff\xe0jpegdata"


def _minimal_frame(source_id, pts):
    return VideoFrame(
        source_id=source_id,
        framerate="25/1",
        width=640,
        height=480,
        content=VideoFrameContent.none(),
        transcoding_method=VideoFrameTranscodingMethod.Encoded,
        codec="h264",
        keyframe=False,
        time_base=(1, 90000),
        pts=pts,
        dts=None,
        duration=None,
    )


def _external_frame(source_id, pts):
    return VideoFrame(
        source_id=source_id,
        framerate="30/1",
        width=320,
        height=240,
        content=VideoFrameContent.external("zeromq", None),
        transcoding_method=VideoFrameTranscodingMethod.Copy,
        codec="jpeg",
        keyframe=True,
        time_base=(1, 1000000000),
        pts=pts,
        dts=None,
        duration=None,
    )


def _full_frame():
    f = VideoFrame(
        source_id="cam-1",
        framerate="30/1",
        width=1280,
        height=720,
        content=VideoFrameContent.internal(FULL_CONTENT),
        transcoding_method=VideoFrameTranscodingMethod.Copy,
        codec="jpeg",
        keyframe=True,
        time_base=(1, 1000000000),
        pts=1000000,
        dts=999000,
        duration=33333333,
    )
    f.add_transformation(VideoFrameTransformation.initial_size(1920, 1080))
    f.add_transformation(VideoFrameTransformation.scale(1280, 720))
    f.add_transformation(VideoFrameTransformation.padding(1, 2, 3, 4))
    f.add_transformation(VideoFrameTransformation.resulting_size(1282, 726))

    kinds = [
        ("bytes", AV.bytes([2, 3], b"\x01\x02\x03\x04\x05\x06", 0.5)),
        ("string", AV.string("hello")),
        ("string_vector", AV.strings(["a", "b"])),
        ("integer", AV.integer(-7, 0.25)),
        ("integer_vector", AV.integers([1, -2, 3])),
        ("float", AV.float(3.5)),
        ("float_vector", AV.floats([1.5, -2.25])),
        ("boolean", AV.boolean(True)),
        ("boolean_vector", AV.booleans([True, False, True])),
        ("bbox", _AV_RBBOX(RBBox(10, 20, 30, 40, 45.0))),
        ("bbox_vector", _AV_RBBOXES([RBBox(1, 2, 3, 4), RBBox(5, 6, 7, 8, 0.0)])),
        ("point", AV.point(Point(1.5, 2.5))),
        ("point_vector", AV.points([Point(0, 0), Point(1, 1)])),
        ("polygon", AV.polygon(PolygonalArea(
            [Point(0, 0), Point(10, 0), Point(10, 10)], ["a", None, "c"]))),
        ("polygon_vector", AV.polygons([PolygonalArea(
            [Point(0, 0), Point(1, 0), Point(0, 1)])])),
        ("intersection", AV.intersection(
            Intersection(IntersectionKind.Cross, [(0, "a"), (2, None)]))),
        ("none", AV.none()),
    ]
    for name, value in kinds:
        f.set_attribute(Attribute.persistent("kinds", name, [value]))
    f.set_attribute(Attribute(
        "meta", "multi", [AV.string("x"), AV.integer(1)],
        hint="h1", is_persistent=True, is_hidden=True))

    o1 = VideoObject(
        1, "detector", "person", RBBox(100, 200, 50, 80, 15.0),
        [Attribute.persistent("obj", "color", [AV.string("red")])],
        0.875, 7, RBBox(101, 201, 51, 81))
    o2 = VideoObject(2, "detector", "face", RBBox(110, 180, 20, 20), [])
    f.add_object(o1, IdCollisionResolutionPolicy.Error)
    f.add_object(o2, IdCollisionResolutionPolicy.Error)
    f.get_object(1).draw_label = "P"
    f.set_parent_by_id(2, 1)
    return f


def build_case(name):
    if name == "frame_full":
        return Message.video_frame(_full_frame())
    if name == "frame_minimal":
        return Message.video_frame(_minimal_frame("cam-2", 0))
    if name == "frame_external":
        return Message.video_frame(_external_frame("cam-3", 42))
    if name == "eos":
        return Message.end_of_stream(EndOfStream("cam-1"))
    if name == "shutdown":
        return Message.shutdown(Shutdown("secret"))
    if name == "user_data":
        ud = UserData("cam-1")
        ud.set_attribute(Attribute.persistent("ud", "note", [AV.string("hello")]))
        ud.set_attribute(Attribute.persistent("ud", "ids", [AV.integers([1, 2, 3])]))
        return Message.user_data(ud)
    if name == "batch":
        b = VideoFrameBatch()
        b.add(1, _minimal_frame("cam-1", 1))
        b.add(2, _external_frame("cam-2", 2))
        return Message.video_frame_batch(b)
    if name == "update":
        u = VideoFrameUpdate()
        u.add_frame_attribute(Attribute.persistent("upd", "frame_attr", [AV.string("v")]))
        u.add_object_attribute(1, Attribute.persistent("upd", "obj_attr", [AV.integer(5)]))
        u.add_object(VideoObject(3, "tracker", "car", RBBox(1, 2, 3, 4), [], 0.5), 1)
        u.frame_attribute_policy = AttributeUpdatePolicy.KeepOwnWhenDuplicate
        u.object_attribute_policy = AttributeUpdatePolicy.ErrorWhenDuplicate
        u.object_policy = ObjectUpdatePolicy.ReplaceSameLabelObjects
        return Message.video_frame_update(u)
    if name == "unknown":
        return Message.unknown("something odd")
    if name == "labels_context":
        m = Message.video_frame(_minimal_frame("cam-4", 0))
        m.labels = list(ROUTING_LABELS)
        m.span_context = _carrier_context(TRACE_CTX)
        return m
    raise KeyError(name)


# --------------------------------------------------------------------------
# canonical (comparable) form of decoded messages
# --------------------------------------------------------------------------


class F32(float):
    """Marks an expected value that is an f32 on the wire (tolerance 1e-6 rel)."""


F32_MAX_SENTINEL = 3.0e38  # savant shows an absent angle as f32::MAX


def _angle(a):
    if a is None or a >= F32_MAX_SENTINEL:
        return None
    return a


def _canon_bbox(d):
    return [d["xc"], d["yc"], d["width"], d["height"], _angle(d.get("angle"))]


def _canon_point(d):
    return [d["x"], d["y"]]


def _canon_polygon(d):
    return {"points": [_canon_point(p) for p in d["vertices"]], "tags": d.get("tags")}


def _canon_value(v):
    """AttributeValue JSON -> {"confidence", "kind", "data"}."""
    conf = v.get("confidence")
    val = v["value"]
    if isinstance(val, str):  # unit variants, e.g. "None"
        return {"confidence": conf, "kind": val, "data": None}
    (kind, data), = val.items()
    if kind == "Bytes":
        data = {"dims": list(data[0]), "data": bytes(data[1]).hex()}
    elif kind == "BBox":
        data = _canon_bbox(data)
    elif kind == "BBoxVector":
        data = [_canon_bbox(x) for x in data]
    elif kind == "Point":
        data = _canon_point(data)
    elif kind == "PointVector":
        data = [_canon_point(x) for x in data]
    elif kind == "Polygon":
        data = _canon_polygon(data)
    elif kind == "PolygonVector":
        data = [_canon_polygon(x) for x in data]
    elif kind == "Intersection":
        data = {"kind": data["kind"], "edges": [list(e) for e in data["edges"]]}
    return {"confidence": conf, "kind": kind, "data": data}


def _canon_attr_json(d):
    return {
        "hint": d.get("hint"),
        "is_persistent": d.get("is_persistent"),
        "is_hidden": d.get("is_hidden"),
        "values": [_canon_value(v) for v in d.get("values", [])],
    }


def _canon_attr(a):
    return _canon_attr_json(json.loads(a.json))


def _attr_keys(holder, probe_ns=(), probe_hints=()):
    keys = set(tuple(k) for k in holder.attributes)
    namespaces = set(ns for ns, _ in keys) | set(probe_ns)
    for ns in namespaces:
        keys |= set(tuple(k) for k in holder.find_attributes_with_ns(ns))
    hints = [None] + [h for h in probe_hints if h is not None]
    keys |= set(tuple(k) for k in holder.find_attributes_with_hints(hints))
    return sorted(keys)


def _canon_attrs(holder, probe):
    out = {}
    ns, hints = probe
    for (a_ns, a_name) in _attr_keys(holder, ns, hints):
        a = holder.get_attribute(a_ns, a_name)
        if a is not None:
            out["%s/%s" % (a_ns, a_name)] = _canon_attr(a)
    return out


def _enum_name(v):
    return str(v).split(".")[-1]


def _canon_content(c):
    if c.is_internal():
        return {"kind": "internal", "data": bytes(c.get_data()).hex()}
    if c.is_external():
        return {"kind": "external", "method": c.get_method(), "location": c.get_location()}
    return {"kind": "none"}


def _canon_transformation(t):
    if t.is_initial_size:
        return ["initial_size"] + list(t.as_initial_size)
    if t.is_scale:
        return ["scale"] + list(t.as_scale)
    if t.is_padding:
        return ["padding"] + list(t.as_padding)
    if t.is_resulting_size:
        return ["resulting_size"] + list(t.as_resulting_size)
    return ["?"]


def canon_frame(f, probe=((), ())):
    fj = json.loads(f.json)
    objects = {}
    for o in fj.get("objects", []):
        bo = f.get_object(o["id"])
        objects[str(o["id"])] = {
            "namespace": o["namespace"],
            "label": o["label"],
            "draw_label": o.get("draw_label"),
            "parent_id": o.get("parent_id"),
            "confidence": o.get("confidence"),
            "detection_box": _canon_bbox(o["detection_box"]),
            "track_id": o.get("track_id"),
            "track_box": _canon_bbox(o["track_box"]) if o.get("track_box") else None,
            "attributes": _canon_attrs(bo, probe),
        }
    return {
        "source_id": f.source_id,
        "uuid": f.uuid,
        "creation_timestamp_ns": f.creation_timestamp_ns,
        "framerate": f.framerate,
        "width": f.width,
        "height": f.height,
        "transcoding_method": _enum_name(f.transcoding_method),
        "codec": f.codec,
        "keyframe": f.keyframe,
        "time_base": list(f.time_base),
        "pts": f.pts,
        "dts": f.dts,
        "duration": f.duration,
        "previous_frame_seq_id": f.previous_frame_seq_id,
        "previous_keyframe": f.previous_keyframe_uuid,
        "content": _canon_content(f.content),
        "transformations": [_canon_transformation(t) for t in f.transformations],
        "attributes": _canon_attrs(f, probe),
        "objects": objects,
    }


def _canon_plain_object(o):
    return {
        "namespace": o.namespace,
        "label": o.label,
        "confidence": o.confidence,
        "detection_box": [o.detection_box.xc, o.detection_box.yc, o.detection_box.width,
                          o.detection_box.height, _angle(o.detection_box.angle)],
        "track_id": o.track_id,
        "track_box": ([o.track_box.xc, o.track_box.yc, o.track_box.width,
                       o.track_box.height, _angle(o.track_box.angle)]
                      if o.track_box is not None else None),
        "attributes": {"%s/%s" % tuple(k): _canon_attr(o.get_attribute(*k))
                       for k in o.attributes},
    }


def message_kind(m):
    if m.is_video_frame():
        return "frame"
    if m.is_end_of_stream():
        return "eos"
    if m.is_user_data():
        return "user_data"
    if m.is_video_frame_batch():
        return "batch"
    if m.is_video_frame_update():
        return "update"
    if m.is_shutdown():
        return "shutdown"
    if m.is_unknown():
        return "unknown"
    return "?"


def canon_message(m, raw, probe=((), ())):
    version, seq_id, system_id = envelope_fields(raw)
    kind = message_kind(m)
    out = {
        "protocol_version": version,
        "seq_id": seq_id,
        "system_id": system_id,
        "routing_labels": list(m.labels),
        "propagated_context": dict(m.span_context.as_dict()),
        "kind": kind,
    }
    if kind == "frame":
        out["frame"] = canon_frame(m.as_video_frame(), probe)
    elif kind == "eos":
        out["eos"] = {"source_id": m.as_end_of_stream().source_id}
    elif kind == "shutdown":
        out["shutdown"] = {"auth": m.as_shutdown().auth}
    elif kind == "unknown":
        out["unknown"] = {"message": m.as_unknown()}
    elif kind == "user_data":
        ud = m.as_user_data()
        out["user_data"] = {"source_id": ud.source_id, "attributes": _canon_attrs(ud, probe)}
    elif kind == "batch":
        b = m.as_video_frame_batch()
        out["batch"] = {str(i): canon_frame(b.get(i), probe) for i in b.ids}
    elif kind == "update":
        u = m.as_video_frame_update()
        uj = json.loads(u.json)
        fa = {}
        for a in uj.get("frame_attributes", []):
            fa["%s/%s" % (a["namespace"], a["name"])] = _canon_attr_json(a)
        oa = {}
        for oid, a in uj.get("object_attributes", []):
            oa["%d:%s/%s" % (oid, a["namespace"], a["name"])] = _canon_attr_json(a)
        objs = {}
        for o, parent in u.objects:
            c = _canon_plain_object(o)
            c["foreign_parent_id"] = parent
            objs[str(o.id)] = c
        out["update"] = {
            "frame_attributes": fa,
            "object_attributes": oa,
            "objects": objs,
            "frame_attribute_policy": _enum_name(u.frame_attribute_policy),
            "object_attribute_policy": _enum_name(u.object_attribute_policy),
            "object_policy": _enum_name(u.object_policy),
        }
    return out


# --------------------------------------------------------------------------
# expected values (written out independently of the builders)
# --------------------------------------------------------------------------


def V(kind, data, conf=None):
    return {"confidence": None if conf is None else F32(conf), "kind": kind, "data": data}


def BOX(xc, yc, w, h, angle=None):
    return [F32(xc), F32(yc), F32(w), F32(h), None if angle is None else F32(angle)]


def PT(x, y):
    return [F32(x), F32(y)]


def ATTR(values, hint=None, persistent=True, hidden=False):
    return {"hint": hint, "is_persistent": persistent, "is_hidden": hidden, "values": values}


def _exp_envelope(meta, kind, payload, labels=(), ctx=None):
    return {
        "protocol_version": meta["protocol_version"],
        "seq_id": meta["seq_id"],
        "system_id": meta.get("system_id", ""),
        "routing_labels": list(labels),
        "propagated_context": dict(ctx or {}),
        "kind": kind,
        kind: payload,
    }


def _exp_frame(fmeta, source_id, framerate, width, height, content, method, codec,
               keyframe, time_base, pts, dts=None, duration=None,
               transformations=(), attributes=None, objects=None):
    return {
        "source_id": source_id,
        "uuid": fmeta["uuid"],
        "creation_timestamp_ns": fmeta["creation_timestamp_ns"],
        "framerate": framerate,
        "width": width,
        "height": height,
        "transcoding_method": method,
        "codec": codec,
        "keyframe": keyframe,
        "time_base": list(time_base),
        "pts": pts,
        "dts": dts,
        "duration": duration,
        "previous_frame_seq_id": None,
        "previous_keyframe": None,
        "content": content,
        "transformations": [list(t) for t in transformations],
        "attributes": attributes or {},
        "objects": objects or {},
    }


def _exp_minimal(fmeta, source_id, pts):
    return _exp_frame(fmeta, source_id, "25/1", 640, 480, {"kind": "none"}, "Encoded",
                      "h264", False, (1, 90000), pts)


def _exp_external(fmeta, source_id, pts):
    return _exp_frame(fmeta, source_id, "30/1", 320, 240,
                      {"kind": "external", "method": "zeromq", "location": None},
                      "Copy", "jpeg", True, (1, 1000000000), pts)


def _exp_full(fmeta):
    kinds = {
        "bytes": V("Bytes", {"dims": [2, 3], "data": "010203040506"}, 0.5),
        "string": V("String", "hello"),
        "string_vector": V("StringVector", ["a", "b"]),
        "integer": V("Integer", -7, 0.25),
        "integer_vector": V("IntegerVector", [1, -2, 3]),
        "float": V("Float", 3.5),
        "float_vector": V("FloatVector", [1.5, -2.25]),
        "boolean": V("Boolean", True),
        "boolean_vector": V("BooleanVector", [True, False, True]),
        "bbox": V("BBox", BOX(10, 20, 30, 40, 45.0)),
        "bbox_vector": V("BBoxVector", [BOX(1, 2, 3, 4), BOX(5, 6, 7, 8, 0.0)]),
        "point": V("Point", PT(1.5, 2.5)),
        "point_vector": V("PointVector", [PT(0, 0), PT(1, 1)]),
        "polygon": V("Polygon", {"points": [PT(0, 0), PT(10, 0), PT(10, 10)],
                                 "tags": ["a", None, "c"]}),
        "polygon_vector": V("PolygonVector", [{"points": [PT(0, 0), PT(1, 0), PT(0, 1)],
                                               "tags": None}]),
        "intersection": V("Intersection", {"kind": "Cross", "edges": [[0, "a"], [2, None]]}),
        "none": V("None", None),
    }
    attributes = {"kinds/" + k: ATTR([v]) for k, v in kinds.items()}
    attributes["meta/multi"] = ATTR([V("String", "x"), V("Integer", 1)], hint="h1", hidden=True)
    objects = {
        "1": {
            "namespace": "detector", "label": "person", "draw_label": "P", "parent_id": None,
            "confidence": F32(0.875), "detection_box": BOX(100, 200, 50, 80, 15.0),
            "track_id": 7, "track_box": BOX(101, 201, 51, 81),
            "attributes": {"obj/color": ATTR([V("String", "red")])},
        },
        "2": {
            "namespace": "detector", "label": "face", "draw_label": None, "parent_id": 1,
            "confidence": None, "detection_box": BOX(110, 180, 20, 20),
            "track_id": None, "track_box": None, "attributes": {},
        },
    }
    return _exp_frame(
        fmeta, "cam-1", "30/1", 1280, 720,
        {"kind": "internal", "data": FULL_CONTENT.hex()}, "Copy", "jpeg", True,
        (1, 1000000000), 1000000, 999000, 33333333,
        transformations=[("initial_size", 1920, 1080), ("scale", 1280, 720),
                         ("padding", 1, 2, 3, 4), ("resulting_size", 1282, 726)],
        attributes=attributes, objects=objects)


def expected_case(name, meta):
    if name == "frame_full":
        return _exp_envelope(meta, "frame", _exp_full(meta))
    if name == "frame_minimal":
        return _exp_envelope(meta, "frame", _exp_minimal(meta, "cam-2", 0))
    if name == "frame_external":
        return _exp_envelope(meta, "frame", _exp_external(meta, "cam-3", 42))
    if name == "eos":
        return _exp_envelope(meta, "eos", {"source_id": "cam-1"})
    if name == "shutdown":
        return _exp_envelope(meta, "shutdown", {"auth": "secret"})
    if name == "user_data":
        return _exp_envelope(meta, "user_data", {"source_id": "cam-1", "attributes": {
            "ud/note": ATTR([V("String", "hello")]),
            "ud/ids": ATTR([V("IntegerVector", [1, 2, 3])]),
        }})
    if name == "batch":
        fr = meta["frames"]
        return _exp_envelope(meta, "batch", {
            "1": _exp_minimal(fr["1"], "cam-1", 1),
            "2": _exp_external(fr["2"], "cam-2", 2),
        })
    if name == "update":
        return _exp_envelope(meta, "update", {
            "frame_attributes": {"upd/frame_attr": ATTR([V("String", "v")])},
            "object_attributes": {"1:upd/obj_attr": ATTR([V("Integer", 5)])},
            "objects": {"3": {
                "namespace": "tracker", "label": "car", "confidence": F32(0.5),
                "detection_box": BOX(1, 2, 3, 4), "track_id": None, "track_box": None,
                "attributes": {}, "foreign_parent_id": 1,
            }},
            "frame_attribute_policy": "KeepOwnWhenDuplicate",
            "object_attribute_policy": "ErrorWhenDuplicate",
            "object_policy": "ReplaceSameLabelObjects",
        })
    if name == "unknown":
        return _exp_envelope(meta, "unknown", {"message": "something odd"})
    if name == "labels_context":
        return _exp_envelope(meta, "frame", _exp_minimal(meta, "cam-4", 0),
                             labels=ROUTING_LABELS, ctx=TRACE_CTX)
    raise KeyError(name)


# namespaces / hints to probe for hidden attributes
PROBE = (("kinds", "meta", "obj", "ud", "upd", "peer"), ("h1",))


# --------------------------------------------------------------------------
# comparison
# --------------------------------------------------------------------------


def _is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def compare(exp, act, path="$", errors=None):
    if errors is None:
        errors = []
    if isinstance(exp, F32):
        if not _is_num(act):
            errors.append("%s: expected f32 %r, got %r" % (path, float(exp), act))
        else:
            tol = 1e-6 * max(abs(float(exp)), abs(float(act))) + 1e-12
            if math.isnan(act) or abs(float(exp) - float(act)) > tol:
                errors.append("%s: expected %r, got %r" % (path, float(exp), act))
    elif isinstance(exp, bool):
        if not isinstance(act, bool) or act != exp:
            errors.append("%s: expected %r, got %r" % (path, exp, act))
    elif isinstance(exp, float):  # f64 (Float attribute values): exact
        if not _is_num(act) or float(act) != exp:
            errors.append("%s: expected f64 %r, got %r" % (path, exp, act))
    elif isinstance(exp, int):
        if not isinstance(act, int) or isinstance(act, bool) or act != exp:
            errors.append("%s: expected %r, got %r" % (path, exp, act))
    elif isinstance(exp, dict):
        if not isinstance(act, dict):
            errors.append("%s: expected object, got %r" % (path, act))
        else:
            for k in sorted(set(exp) | set(act), key=str):
                if k not in act:
                    errors.append("%s.%s: missing" % (path, k))
                elif k not in exp:
                    errors.append("%s.%s: unexpected %r" % (path, k, act[k]))
                else:
                    compare(exp[k], act[k], "%s.%s" % (path, k), errors)
    elif isinstance(exp, (list, tuple)):
        if not isinstance(act, (list, tuple)):
            errors.append("%s: expected list, got %r" % (path, act))
        elif len(exp) != len(act):
            errors.append("%s: expected %d items, got %d (%r)" % (path, len(exp), len(act), act))
        else:
            for i, (e, a) in enumerate(zip(exp, act)):
                compare(e, a, "%s[%d]" % (path, i), errors)
    else:  # str / None
        if exp != act or type(exp) is not type(act):
            errors.append("%s: expected %r, got %r" % (path, exp, act))
    return errors


def check_bytes(name, raw, meta):
    """Decode raw with savant_rs and compare with the expected values."""
    try:
        m = ser.load_message_from_bytes(raw)
    except BaseException as e:  # PanicException derives from BaseException
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return ["decode raised %s: %s" % (type(e).__name__, e)]
    if m.is_unknown() and name != "unknown":
        return ["savant_rs decoded it as Unknown(%r)" % m.as_unknown()]
    try:
        actual = canon_message(m, raw, PROBE)
    except BaseException as e:
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return ["reading decoded message failed: %s: %s" % (type(e).__name__, e)]
    return compare(expected_case(name, meta), actual)


# --------------------------------------------------------------------------
# vectors gen / verify
# --------------------------------------------------------------------------


def _frame_meta(f):
    return {"uuid": f.uuid, "creation_timestamp_ns": f.creation_timestamp_ns}


def _stamping_writer(directory):
    """savant-rs 1.15+: a writer whose send_message stamps system_id and
    seq_id on the message (a PUB socket with no subscriber: every send is
    WriterResultSuccess and goes nowhere)."""
    spec = "pub+bind:ipc://%s/vectors-stamp.ipc" % os.path.abspath(directory)
    w = BlockingWriter(WriterConfigBuilder(spec).build())
    w.start()
    return w


def cmd_vectors_gen(args):
    os.makedirs(args.dir, exist_ok=True)
    # 0.3.0 numbers messages when they are built (Message.video_frame & co);
    # 1.15 leaves seq_id 0 and system_id "" until a writer sends the message,
    # so under 1.15 every case goes through a real writer first and the
    # bytes are saved with the ids that writer gave it.
    stamp = _stamping_writer(args.dir) if IS_1X else None
    try:
        return _vectors_gen(args, stamp)
    finally:
        if stamp is not None:
            stamp.shutdown()
            try:
                os.unlink(os.path.join(args.dir, "vectors-stamp.ipc"))
            except OSError:
                pass


def _vectors_gen(args, stamp):
    failed = False
    for name in CASES:
        msg = build_case(name)
        if stamp is not None:
            res = stamp.send_message("vectors", msg, b"")
            if result_name(res) != "WriterResultSuccess":
                raise RuntimeError("stamping writer: %s" % result_name(res))
        raw = ser.save_message_to_bytes(msg)
        version, seq_id, system_id = envelope_fields(raw)
        meta = {"protocol_version": version, "seq_id": seq_id}
        if system_id:
            meta["system_id"] = system_id
        if stamp is not None and (msg.seq_id != seq_id or msg.system_id != system_id):
            raise RuntimeError("%s: bytes carry seq_id %d system_id %r, the message %d %r" % (
                name, seq_id, system_id, msg.seq_id, msg.system_id))
        decoded = ser.load_message_from_bytes(raw)
        if decoded.is_video_frame():
            meta.update(_frame_meta(decoded.as_video_frame()))
        elif decoded.is_video_frame_batch():
            b = decoded.as_video_frame_batch()
            meta["frames"] = {str(i): _frame_meta(b.get(i)) for i in sorted(b.ids)}
        if name == "labels_context":
            meta["routing_labels"] = list(ROUTING_LABELS)
            meta["propagated_context"] = dict(TRACE_CTX)
        with open(os.path.join(args.dir, name + ".bin"), "wb") as fh:
            fh.write(raw)
        with open(os.path.join(args.dir, name + ".json"), "w") as fh:
            json.dump(meta, fh, indent=1, sort_keys=True)
            fh.write("\n")
        # self-check: savant_rs' own bytes must match the expected values
        errs = check_bytes(name, raw, meta)
        line = {"case": name, "bytes": len(raw)}
        if errs:
            failed = True
            line["self_check_errors"] = errs
            log("gen self-check failed for", name, errs)
        emit(line)
    return 1 if failed else 0


def cmd_vectors_verify(args):
    failed = False
    for name in CASES:
        path = os.path.join(args.dir, name + args.suffix)
        meta_path = os.path.join(args.dir, name + ".json")
        if not os.path.exists(meta_path):
            emit({"case": name, "ok": False, "error": "missing %s" % meta_path})
            failed = True
            continue
        if not os.path.exists(path):
            emit({"case": name, "ok": False, "error": "missing %s" % path})
            failed = True
            continue
        with open(meta_path) as fh:
            meta = json.load(fh)
        with open(path, "rb") as fh:
            raw = fh.read()
        errs = check_bytes(name, raw, meta)
        if errs:
            failed = True
            emit({"case": name, "ok": False, "error": "; ".join(errs)})
        else:
            emit({"case": name, "ok": True})
    return 1 if failed else 0


# --------------------------------------------------------------------------
# payload pattern
# --------------------------------------------------------------------------

_PATTERN_CACHE = {}


def _pattern_base(k):
    """bytes such that base[s:s+k] == payload for any start s in [0, 251)."""
    base = _PATTERN_CACHE.get(k)
    if base is None:
        period = bytes(range(251))
        reps = (k + 251) // 251 + 1
        base = (period * reps)[: k + 251]
        _PATTERN_CACHE[k] = base
    return base


def payload_for(pts, k):
    """K bytes with byte j = (pts + j) % 251."""
    if k <= 0:
        return b""
    s = pts % 251
    return _pattern_base(k)[s:s + k]


# --------------------------------------------------------------------------
# transport helpers
# --------------------------------------------------------------------------


def make_writer(spec):
    cfg = WriterConfigBuilder(spec).build()
    w = BlockingWriter(cfg)
    w.start()
    log("writer started: type=%s bind=%s endpoint=%s" % (
        _enum_name(cfg.socket_type), cfg.bind, cfg.endpoint))
    return w, cfg


def make_reader(spec, source_id=None, prefix=None):
    b = ReaderConfigBuilder(spec)
    if source_id is not None:
        b.with_topic_prefix_spec(TopicPrefixSpec.source_id(source_id))
    elif prefix is not None:
        b.with_topic_prefix_spec(TopicPrefixSpec.prefix(prefix))
    cfg = b.build()
    r = BlockingReader(cfg)
    r.start()
    log("reader started: type=%s bind=%s endpoint=%s" % (
        _enum_name(cfg.socket_type), cfg.bind, cfg.endpoint))
    return r, cfg


def _peer_frame(source_id, pts, k, with_attr=True):
    f = VideoFrame(
        source_id=source_id,
        framerate="30/1",
        width=64,
        height=48,
        content=(VideoFrameContent.external("zeromq", None) if k > 0
                 else VideoFrameContent.none()),
        transcoding_method=VideoFrameTranscodingMethod.Copy,
        codec="jpeg",
        keyframe=True,
        time_base=(1, 1000000000),
        pts=pts,
        dts=None,
        duration=None,
    )
    if with_attr:
        f.set_attribute(Attribute.persistent("peer", "index", [AV.integer(pts)]))
    return f


def _is_timeout_result(name):
    return name in ("WriterResultAckTimeout", "WriterResultSendTimeout")


def _start_delay(cfg, requested):
    if requested is not None:
        return requested
    # PUB drops everything sent before the subscription has propagated
    return 0.5 if cfg.socket_type == WriterSocketType.Pub else 0.0


def _probe_until(w, topic, path, within=30.0):
    """Sends a frame on `topic` every 50 ms until `path` exists."""
    deadline = time.monotonic() + within
    probes = 0
    while not os.path.exists(path):
        if time.monotonic() >= deadline:
            raise RuntimeError("%s did not appear after %d probes" % (path, probes))
        w.send_message(topic, Message.video_frame(_peer_frame(topic, probes, 0)), b"")
        probes += 1
        time.sleep(0.05)
    emit({"event": "probed", "probes": probes})


def init_tracing(mode, service_name="savant-peer", jaeger_endpoint="127.0.0.1:6831"):
    """Install savant_rs' global tracer/propagator; mode None|"w3c"|"jaeger".

    1.x: savant_rs.telemetry.init(TelemetryConfiguration(format, tracer=None))
    installs a tracer provider that exports to nowhere (spans are valid and
    sampled) and the W3C or Jaeger propagator; service name and endpoint
    are not used (no exporter)."""
    if mode not in (None, "w3c", "jaeger"):
        raise ValueError("unknown trace mode %r" % (mode,))
    if IS_1X and mode is not None:
        fmt = (_telemetry.ContextPropagationFormat.W3C if mode == "w3c"
               else _telemetry.ContextPropagationFormat.Jaeger)
        _telemetry.init(_telemetry.TelemetryConfiguration(
            context_propagation_format=fmt, tracer=None))
    elif mode == "w3c":
        init_noop_tracer()
    elif mode == "jaeger":
        init_jaeger_tracer(service_name, jaeger_endpoint)
    if mode is not None:
        log("tracing initialised: %s" % mode)


def cmd_writer(args):
    init_tracing(args.trace, args.service_name, args.jaeger_endpoint)
    w, cfg = make_writer(args.socket)
    rc = 0
    try:
        delay = _start_delay(cfg, 0.0 if args.probe_until and args.start_delay is None
                             else args.start_delay)
        if delay > 0:
            time.sleep(delay)
        if args.probe_until:
            _probe_until(w, args.probe_topic, args.probe_until)
        topic = args.topic if args.topic is not None else args.source_id
        k = args.content_size
        for i in range(args.count):
            f = _peer_frame(args.source_id, i, k)
            trace_id = None
            if args.trace is None:
                m = Message.video_frame(f)
                res = w.send_message(topic, m, payload_for(i, k))
            else:
                # a new root span per frame; the message carries its context
                span = TelemetrySpan("savant-peer-writer-frame")
                with span:
                    m = Message.video_frame(f)
                    m.span_context = span.propagate()
                    res = w.send_message(topic, m, payload_for(i, k))
                trace_id = span.trace_id()
            # after the send: 1.15 writers stamp seq_id and system_id then
            version, seq_id, system_id = envelope_fields(ser.save_message_to_bytes(m))
            name = result_name(res)
            emit({"sent": "frame", "pts": i, "seq_id": seq_id, "system_id": system_id,
                  "protocol_version": version,
                  "topic": topic, "content_len": k, "result": name, "trace_id": trace_id})
            if _is_timeout_result(name):
                rc = 2
            if args.interval > 0:
                time.sleep(args.interval)
        acked_last = False
        if args.eos:
            if args.eos_mode == "send_eos":
                res = w.send_eos(args.source_id)
                seq_id = None
                eos_topic = args.source_id
            else:
                m = Message.end_of_stream(EndOfStream(args.source_id))
                res = w.send_message(topic, m, b"")
                _, seq_id = envelope_scalars(ser.save_message_to_bytes(m))
                eos_topic = topic
            name = result_name(res)
            emit({"sent": "eos", "source_id": args.source_id, "seq_id": seq_id,
                  "topic": eos_topic, "mode": args.eos_mode, "result": name})
            if _is_timeout_result(name):
                log("EOS was not acknowledged:", res)
                rc = 2
            acked_last = name == "WriterResultAck"
        if args.shutdown is not None:
            m = Message.shutdown(Shutdown(args.shutdown))
            res = w.send_message(topic, m, b"")
            name = result_name(res)
            emit({"sent": "shutdown", "auth": args.shutdown, "topic": topic, "result": name})
            if _is_timeout_result(name):
                rc = 2
            acked_last = name == "WriterResultAck"
        if not acked_last and args.drain > 0:
            # fire-and-forget sends may still sit in the ZeroMQ queue
            time.sleep(args.drain)
    finally:
        try:
            w.shutdown()
        except Exception as e:  # noqa: BLE001
            log("writer shutdown:", e)
    return rc


def _attr_summary(holder):
    keys = _attr_keys(holder)
    names = ["%s/%s" % k for k in keys]
    values = {}
    for ns, name in keys:
        a = holder.get_attribute(ns, name)
        if a is None:
            continue
        vals = []
        for v in json.loads(a.json).get("values", []):
            val = v.get("value")
            if isinstance(val, dict) and len(val) == 1:
                val = next(iter(val.values()))
            vals.append(val)
        values["%s/%s" % (ns, name)] = vals
    return names, values


def describe_received(res):
    m = res.message
    kind = message_kind(m)
    topic = bytes(res.topic).decode("utf-8", "replace")
    extra = [bytes(res.data(i)) for i in range(res.data_len())]
    try:
        version, seq_id, system_id = envelope_fields(ser.save_message_to_bytes(m))
    except BaseException as e:  # noqa: BLE001
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        log("re-serialization failed:", e)
        version, seq_id, system_id = None, None, None
    ev = {
        "event": "message",
        "kind": kind,
        "topic": topic,
        "routing_id": bytes(res.routing_id).hex() if res.routing_id is not None else None,
        "source_id": None,
        "seq_id": seq_id,
        "system_id": system_id,
        "protocol_version": version,
        "pts": None,
        "extra_parts": len(extra),
    }
    content = b"".join(extra)
    attrs, attr_values = [], {}
    if kind == "frame":
        f = m.as_video_frame()
        ev["source_id"] = f.source_id
        ev["pts"] = f.pts
        ev["uuid"] = f.uuid
        c = f.content
        ev["content_kind"] = ("internal" if c.is_internal() else
                              "external" if c.is_external() else "none")
        if c.is_external():
            ev["content_method"] = c.get_method()
        if c.is_internal():
            content = bytes(c.get_data())
        attrs, attr_values = _attr_summary(f)
    elif kind == "eos":
        ev["source_id"] = m.as_end_of_stream().source_id
    elif kind == "user_data":
        ud = m.as_user_data()
        ev["source_id"] = ud.source_id
        attrs, attr_values = _attr_summary(ud)
    elif kind == "shutdown":
        ev["auth"] = m.as_shutdown().auth
    elif kind == "unknown":
        ev["text"] = m.as_unknown()
    elif kind == "batch":
        ev["batch_ids"] = sorted(m.as_video_frame_batch().ids)
    ev["content_len"] = len(content)
    if kind == "frame" and content:
        ev["content_ok"] = content == payload_for(ev["pts"], len(content))
    else:
        ev["content_ok"] = True
    ev["routing_labels"] = list(m.labels)
    ev["propagated_context"] = dict(m.span_context.as_dict())
    ev["attributes"] = attrs
    ev["attribute_values"] = attr_values
    return ev, kind


def cmd_reader(args):
    r, cfg = make_reader(args.socket, args.source_id, args.prefix)
    for t in args.blacklist or []:
        r.blacklist_source(t.encode())
    emit({"event": "ready", "socket_type": _enum_name(cfg.socket_type),
          "bind": cfg.bind, "endpoint": cfg.endpoint})
    deadline = time.monotonic() + args.timeout
    messages = 0
    eos_seen = 0
    rc = None
    try:
        while rc is None:
            if time.monotonic() >= deadline:
                if args.count is None and args.eos_count is None:
                    rc = 0
                else:
                    log("timeout: %d messages, %d EOS received" % (messages, eos_seen))
                    rc = 3
                break
            try:
                res = r.receive()
            except BaseException as e:  # noqa: BLE001
                if isinstance(e, (KeyboardInterrupt, SystemExit)):
                    raise
                text = str(e)
                log("receive raised:", type(e).__name__, text)
                short = text.split("\n\nStack backtrace:")[0].strip()  # RUST_BACKTRACE noise
                emit({"event": "error", "error": "%s: %s" % (type(e).__name__, short)})
                continue
            if isinstance(res, list):
                # 0.3.0 binding quirk: ReaderResult::TooShort is returned as a plain
                # Python list of the received parts (each a list of ints)
                emit({"event": "ReaderResultTooShort", "topic": None,
                      "parts_hex": [bytes(p).hex() for p in res]})
                continue
            name = result_name(res)
            if name == "ReaderResultTimeout":
                continue
            if name == "ReaderResultMessage" and args.probe_topic is not None \
                    and bytes(res.topic) == args.probe_topic.encode():
                emit({"event": "probe", "topic": args.probe_topic})
                continue
            if name == "ReaderResultMessage":
                ev, kind = describe_received(res)
                emit(ev)
                messages += 1
                if kind == "eos":
                    eos_seen += 1
                if args.count is not None and messages >= args.count:
                    rc = 0
                if args.eos_count is not None and eos_seen >= args.eos_count:
                    rc = 0
                continue
            ev = {"event": name}
            topic = getattr(res, "topic", None)
            ev["topic"] = bytes(topic).decode("utf-8", "replace") if topic is not None else None
            rid = getattr(res, "routing_id", None)
            if rid is not None:
                ev["routing_id"] = bytes(rid).hex()
            if "VersionMismatch" in name:  # 1.x: no getters, the repr has the versions
                ev["detail"] = repr(res)
            emit(ev)
    finally:
        try:
            r.shutdown()
        except Exception as e:  # noqa: BLE001
            log("reader shutdown:", e)
    return rc


# --------------------------------------------------------------------------
# benchmark pair
# --------------------------------------------------------------------------


def cmd_bench_writer(args):
    w, cfg = make_writer(args.socket)
    rc = 0
    try:
        delay = _start_delay(cfg, args.start_delay)
        if delay > 0:
            time.sleep(delay)
        k = args.content_size
        frame = _peer_frame(args.source_id, 0, k, with_attr=False)  # built once
        payload = payload_for(0, k)  # built once
        topic = args.source_id
        send = w.send_message
        video_frame = Message.video_frame
        bad = 0
        t0 = time.perf_counter()
        for _ in range(args.count):
            res = send(topic, video_frame(frame), payload)  # a real Message per send
            if type(res).__name__ != "WriterResultSuccess":
                bad += 1
        t_frames = time.perf_counter() - t0
        eos = w.send_message(topic, Message.end_of_stream(EndOfStream(args.source_id)), b"")
        t_total = time.perf_counter() - t0
        eos_name = result_name(eos)
        if _is_timeout_result(eos_name) or bad:
            rc = 2
        emit({"event": "done", "messages": args.count, "content_size": k,
              "non_success_results": bad, "eos_result": eos_name,
              "send_seconds": round(t_frames, 6), "seconds_incl_eos_ack": round(t_total, 6),
              "msgs_per_sec": round(args.count / t_frames, 1) if t_frames > 0 else None})
    finally:
        try:
            w.shutdown()
        except Exception as e:  # noqa: BLE001
            log("writer shutdown:", e)
    return rc


def cmd_bench_reader(args):
    r, cfg = make_reader(args.socket)
    emit({"event": "ready", "socket_type": _enum_name(cfg.socket_type),
          "bind": cfg.bind, "endpoint": cfg.endpoint})
    n = 0
    total = 0
    t_first = t_last = None
    deadline = time.monotonic() + args.timeout
    rc = 3
    recv = r.receive
    try:
        while time.monotonic() < deadline:
            res = recv()
            if type(res).__name__ != "ReaderResultMessage":
                continue
            m = res.message
            if m.is_video_frame():
                now = time.perf_counter()
                if t_first is None:
                    t_first = now
                t_last = now
                n += 1
                for i in range(res.data_len()):
                    total += len(res.data(i))
            elif m.is_end_of_stream() and n >= args.count:
                secs = (t_last - t_first) if t_first is not None else 0.0
                emit({"messages": n, "bytes": total, "seconds": round(secs, 6),
                      "msgs_per_sec": round(n / secs, 1) if secs > 0 else None,
                      "mb_per_sec": round(total / secs / 1e6, 3) if secs > 0 else None})
                rc = 0
                break
        if rc != 0:
            log("bench-reader timeout: %d frames received" % n)
    finally:
        try:
            r.shutdown()
        except Exception as e:  # noqa: BLE001
            log("reader shutdown:", e)
    return rc


# --------------------------------------------------------------------------
# stand-in Savant module
# --------------------------------------------------------------------------


class _StopFlag:
    """Set by SIGTERM/SIGINT; checked by the main loops."""

    def __init__(self):
        self.reason = None
        self.event = threading.Event()

    def install(self):
        def handler(signum, _frame):
            self.reason = signal.Signals(signum).name
            self.event.set()
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        return self


def _parse_mark(text):
    ns, sep, name = (text or "").partition("/")
    if not sep or not ns or not name:
        raise SystemExit("--mark must be NS/NAME, got %r" % (text,))
    return ns, name


def _restamped(m):
    """A new message as a Savant module's sink would build it (new seq_id)."""
    if m.is_video_frame():
        nm = Message.video_frame(m.as_video_frame())
    elif m.is_end_of_stream():
        nm = Message.end_of_stream(EndOfStream(m.as_end_of_stream().source_id))
    elif m.is_user_data():
        nm = Message.user_data(m.as_user_data())
    else:
        return m
    nm.labels = list(m.labels)
    nm.span_context = m.span_context
    return nm


def _standin_ack_after_forward(args, stop):
    import zmq
    kind, sep, endpoint = args.input.partition(":")
    if kind not in ("rep+bind", "rep+connect") or not sep:
        raise SystemExit("--ack-after-forward needs a rep+bind: or rep+connect: input, got %r"
                         % (args.input,))
    ctx = zmq.Context.instance()
    rep = ctx.socket(zmq.REP)
    rep.setsockopt(zmq.LINGER, 100)
    if kind == "rep+bind":
        rep.bind(endpoint)
    else:
        rep.connect(endpoint)
    w, wcfg = make_writer(args.output)
    emit({"event": "ready", "input": {"socket_type": "Rep", "ack": "after-forward",
                                      "endpoint": endpoint},
          "output": {"socket_type": _enum_name(wcfg.socket_type), "bind": wcfg.bind,
                     "endpoint": wcfg.endpoint}})
    poller = zmq.Poller()
    poller.register(rep, zmq.POLLIN)
    forwarded, rc = 0, 0
    last_activity = time.monotonic()
    try:
        while stop.reason is None:
            try:
                ready = dict(poller.poll(args.receive_timeout_ms))
            except zmq.ZMQError as e:
                if e.errno == zmq.EINTR:
                    continue
                raise
            if rep not in ready:
                if args.idle_exit is not None and time.monotonic() - last_activity >= args.idle_exit:
                    stop.reason = "idle"
                continue
            parts = rep.recv_multipart()
            last_activity = time.monotonic()
            if len(parts) < 2:
                rep.send(b"OK")  # nothing to forward; a rep must answer
                continue
            m = ser.load_message_from_bytes(parts[1])
            topic = parts[0].decode("utf-8", "replace")
            try:
                wres = w.send_message(topic, m, b"".join(parts[2:]))
            except BaseException as e:  # noqa: BLE001
                if isinstance(e, (KeyboardInterrupt, SystemExit)):
                    raise
                log("send_message raised, output writer is broken:", type(e).__name__, e)
                rc, stop.reason = 1, "writer-error"
                break
            if _is_timeout_result(type(wres).__name__):
                # not forwarded: no OK, the sender sends it again
                log("forward of %s on %r: %s" % (message_kind(m), topic, type(wres).__name__))
                rc, stop.reason = 1, "writer-timeout"
                break
            rep.send(b"OK")
            forwarded += 1
            if args.trace_log:
                emit({"event": "forwarded", "kind": message_kind(m), "topic": topic,
                      "extra_parts": len(parts) - 2, "result": type(wres).__name__})
    finally:
        rep.close()
        try:
            w.shutdown()
        except Exception as e:  # noqa: BLE001
            log("standin writer shutdown:", e)
    emit({"event": "stopped", "reason": stop.reason, "forwarded": forwarded})
    return rc


def cmd_standin(args):
    stop = _StopFlag().install()
    if args.ack_after_forward:
        return _standin_ack_after_forward(args, stop)
    mark_attr = None
    if args.mark is not None:
        ns, name = _parse_mark(args.mark)
        mark_attr = Attribute.persistent(ns, name, [AV.string("savant-rs")])
    rb = ReaderConfigBuilder(args.input)
    rb.with_receive_timeout(args.receive_timeout_ms)
    rcfg = rb.build()
    r = BlockingReader(rcfg)
    r.start()
    log("standin reader started: type=%s bind=%s endpoint=%s" % (
        _enum_name(rcfg.socket_type), rcfg.bind, rcfg.endpoint))
    rc = 0
    forwarded = 0
    try:
        w, wcfg = make_writer(args.output)
    except BaseException:
        r.shutdown()
        raise
    emit({"event": "ready",
          "input": {"socket_type": _enum_name(rcfg.socket_type), "bind": rcfg.bind,
                    "endpoint": rcfg.endpoint},
          "output": {"socket_type": _enum_name(wcfg.socket_type), "bind": wcfg.bind,
                     "endpoint": wcfg.endpoint}})
    recv = r.receive
    send = w.send_message
    trace_log = args.trace_log
    restamp = args.restamp
    idle = args.idle_exit
    last_activity = time.monotonic()
    try:
        while stop.reason is None:
            try:
                res = recv()
            except BaseException as e:  # noqa: BLE001  (decode error etc.)
                if isinstance(e, (KeyboardInterrupt, SystemExit)):
                    raise
                text = str(e)
                if stop.reason is not None or "Interrupted system call" in text:
                    continue  # EINTR: the signal that stops us (loop checks the flag)
                log("receive raised:", type(e).__name__,
                    text.split("\n\nStack backtrace:")[0].strip())
                last_activity = time.monotonic()
                continue
            if type(res).__name__ != "ReaderResultMessage":
                if isinstance(res, list) or type(res).__name__ != "ReaderResultTimeout":
                    # TooShort (plain list), Blacklisted, PrefixMismatch: dropped
                    last_activity = time.monotonic()
                    if trace_log:
                        log("dropped:", "ReaderResultTooShort" if isinstance(res, list)
                            else type(res).__name__)
                elif idle is not None and time.monotonic() - last_activity >= idle:
                    stop.reason = "idle"
                continue
            m = res.message
            n = res.data_len()
            if n == 0:
                extra = b""
            elif n == 1:
                extra = res.data(0)
            else:
                extra = b"".join(bytes(res.data(i)) for i in range(n))
            if mark_attr is not None and m.is_video_frame():
                m.as_video_frame().set_attribute(mark_attr)
            if restamp:
                m = _restamped(m)
            topic = bytes(res.topic).decode("utf-8", "replace")
            try:
                wres = send(topic, m, extra)
            except BaseException as e:  # noqa: BLE001
                if isinstance(e, (KeyboardInterrupt, SystemExit)):
                    raise
                log("send_message raised, output writer is broken:", type(e).__name__, e)
                rc = 1
                stop.reason = "writer-error"
                break
            forwarded += 1
            last_activity = time.monotonic()
            if trace_log:
                name = type(wres).__name__
                try:
                    _, seq_id = envelope_scalars(ser.save_message_to_bytes(m))
                except BaseException as e:  # noqa: BLE001
                    if isinstance(e, (KeyboardInterrupt, SystemExit)):
                        raise
                    seq_id = None
                emit({"event": "forwarded", "kind": message_kind(m), "topic": topic,
                      "seq_id": seq_id, "extra_parts": n, "result": name,
                      "propagated_context": dict(m.span_context.as_dict())})
                if _is_timeout_result(name):
                    log("forward of %s on %r: %s" % (message_kind(m), topic, name))
    finally:
        for what, obj in (("writer", w), ("reader", r)):
            try:
                obj.shutdown()
            except Exception as e:  # noqa: BLE001
                log("standin %s shutdown:" % what, e)
    emit({"event": "stopped", "reason": stop.reason, "forwarded": forwarded})
    return rc


# --------------------------------------------------------------------------
# Savant module healthcheck endpoint (spec 6.2)
# --------------------------------------------------------------------------


def _healthcheck_handler(status_file, http_path="/healthcheck"):
    from http.server import BaseHTTPRequestHandler

    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0 (the BaseHTTPRequestHandler default, as in Savant): no
        # Content-Length, the body ends when the connection closes.
        def do_GET(self):  # noqa: N802
            if self.path != http_path:
                self._reply(404, None)
                return
            try:
                with open(status_file, "rb") as fh:
                    body = fh.read().strip()
            except Exception as e:  # noqa: BLE001
                log("healthcheck: cannot read status file %s: %s" % (status_file, e))
                self._reply(503, None)
                return
            self._reply(200 if body == b"running" else 503, body)

        def _reply(self, code, body):
            self.send_response(code)
            self.send_header("Content-type", "plain/text")
            self.end_headers()
            if body:
                self.wfile.write(body)

        def log_message(self, fmt, *a):  # stderr, with our prefix
            log("healthcheck:", fmt % a)

    return Handler


def cmd_healthcheck_server(args):
    from http.server import ThreadingHTTPServer

    class Server(ThreadingHTTPServer):
        daemon_threads = True

    stop = _StopFlag().install()
    srv = Server((args.host, args.port), _healthcheck_handler(args.status_file))
    port = srv.server_address[1]
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True)
    t.start()
    emit({"event": "ready", "port": port})
    try:
        while not stop.event.wait(0.2):
            pass
    finally:
        srv.shutdown()
        srv.server_close()
    log("healthcheck server stopped (%s)" % stop.reason)
    return 0


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    vec = sub.add_parser("vectors", help="golden vectors")
    vsub = vec.add_subparsers(dest="vcmd", required=True)
    g = vsub.add_parser("gen")
    g.add_argument("dir")
    v = vsub.add_parser("verify")
    v.add_argument("dir")
    v.add_argument("--suffix", default=".ours.bin",
                   help="file suffix to verify (default .ours.bin; .bin checks savant's own)")

    w = sub.add_parser("writer")
    w.add_argument("--socket", required=True)
    w.add_argument("--source-id", required=True)
    w.add_argument("--count", type=int, required=True)
    w.add_argument("--content-size", type=int, default=0)
    w.add_argument("--eos", action="store_true")
    w.add_argument("--eos-mode", choices=["message", "send_eos"], default="message",
                   help="message: send_message(topic, EOS, b'') = 3 parts like Savant "
                        "sources; send_eos: BlockingWriter.send_eos(source) = 2 parts")
    w.add_argument("--shutdown", metavar="AUTH")
    w.add_argument("--topic")
    w.add_argument("--start-delay", type=float, default=None,
                   help="seconds to wait after start (default 0.5 for pub, else 0; "
                        "0 with --probe-until)")
    w.add_argument("--probe-until", metavar="PATH",
                   help="before the frames, send a frame on --probe-topic every 50 ms until "
                        "PATH exists (the receiving side creates it when a probe arrives: a "
                        "pub's subscription has travelled then); fails after 30 s")
    w.add_argument("--probe-topic", default="probe",
                   help="topic and source id of the --probe-until frames")
    w.add_argument("--interval", type=float, default=0.0, help="sleep between frames")
    w.add_argument("--drain", type=float, default=0.5,
                   help="sleep before shutdown when the last send was not acknowledged")
    w.add_argument("--trace", choices=["w3c", "jaeger"], default=None,
                   help="send each frame in a new root TelemetrySpan: w3c = "
                        "init_noop_tracer() (traceparent/tracestate), jaeger = "
                        "init_jaeger_tracer() (uber-trace-id); default: no tracing")
    w.add_argument("--service-name", default="savant-peer",
                   help="service name for --trace jaeger")
    w.add_argument("--jaeger-endpoint", default="127.0.0.1:6831",
                   help="Jaeger agent host:port (UDP) for --trace jaeger")

    r = sub.add_parser("reader")
    r.add_argument("--socket", required=True)
    grp = r.add_mutually_exclusive_group()
    grp.add_argument("--source-id")
    grp.add_argument("--prefix")
    r.add_argument("--count", type=int)
    r.add_argument("--eos-count", type=int)
    r.add_argument("--timeout", type=float, default=20.0)
    r.add_argument("--blacklist", action="append", metavar="TOPIC",
                   help="blacklist_source(TOPIC) right after start (repeatable)")
    r.add_argument("--probe-topic", metavar="TOPIC",
                   help="messages on TOPIC are reported as {\"event\":\"probe\"} and not counted "
                        "(a publisher sends them until its subscriber gets one)")

    bw = sub.add_parser("bench-writer")
    bw.add_argument("--socket", required=True)
    bw.add_argument("--count", type=int, required=True)
    bw.add_argument("--content-size", type=int, default=0)
    bw.add_argument("--source-id", default="bench")
    bw.add_argument("--start-delay", type=float, default=None)

    br = sub.add_parser("bench-reader")
    br.add_argument("--socket", required=True)
    br.add_argument("--count", type=int, required=True)
    br.add_argument("--timeout", type=float, default=300.0)

    si = sub.add_parser("standin", help="stand-in Savant module (forwards every message)")
    si.add_argument("--input", required=True, help="reader URI, e.g. router+bind:ipc:///x")
    si.add_argument("--output", required=True, help="writer URI, e.g. dealer+connect:ipc:///y")
    si.add_argument("--mark", metavar="NS/NAME",
                    help="set persistent frame attribute NS/NAME = 'savant-rs' on frames")
    si.add_argument("--trace-log", action="store_true",
                    help="one JSON line per forwarded message")
    si.add_argument("--idle-exit", type=float, default=None, metavar="SECS",
                    help="exit 0 after SECS without any received message")
    si.add_argument("--receive-timeout-ms", type=int, default=100)
    si.add_argument("--restamp", action="store_true",
                    help="rebuild frames/EOS/user data (new seq_id) like a Savant sink; "
                         "labels and span_context are copied")
    si.add_argument("--ack-after-forward", action="store_true",
                    help="rep input only: answer OK after the message was forwarded "
                         "(pyzmq REP socket, savant-rs decoding and writer)")

    hc = sub.add_parser("healthcheck-server", help="Savant module healthcheck endpoint")
    hc.add_argument("--port", type=int, required=True, help="0 = pick a free port")
    hc.add_argument("--status-file", required=True)
    hc.add_argument("--host", default="127.0.0.1")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.cmd == "vectors":
        return cmd_vectors_gen(args) if args.vcmd == "gen" else cmd_vectors_verify(args)
    return {
        "writer": cmd_writer,
        "reader": cmd_reader,
        "bench-writer": cmd_bench_writer,
        "bench-reader": cmd_bench_reader,
        "standin": cmd_standin,
        "healthcheck-server": cmd_healthcheck_server,
    }[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
