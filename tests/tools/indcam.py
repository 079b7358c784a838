#!/usr/bin/env python3
"""indcam: an independent BCDK v1 camera, written from docs/protocol.md alone.

An outside tester's camera: it shares no code with protocol/ or camsim, so
a gap in docs/protocol.md shows up as a disagreement with the reference
dock. It speaks the Unix-socket transport (protocol.md 11.6: the camera
connects, the dock speaks first).

  indcam.py init  --dir D --serial S --model M --officer O --agency-pub PEM
                  (prints the device public key, 64 hex digits)
  indcam.py add   --dir D --id ID --file F [--category C] [--start T]
                  [--end T] [--gps LAT_E7,LON_E7]
  indcam.py list  --dir D                 one line per recording: ID SIZE SHA256
  indcam.py serve --dir D --connect SOCK [--drop-after N] [--bad-sig ID]
                  [--tamper-receipt ID] [--bad-identity] [--corrupt ID] [--idle S]
  indcam.py receipts --dir D              re-verify every kept receipt
  indcam.py selftest                      section 13's worked example, 3.3's CRC
  indcam.py probe --listen SOCK --agency-key PEM
                  a scripted dock for a camera (camsim) to connect to: checks
                  the camera-side rules of 3.1, 5, 7.1, 7.2, 7.4, 8.1

serve prints one log line per event (HELLO, AUTH, LIST, READ id off len,
RELEASE-OK id, RELEASE-REFUSED id why, DOCK-ERROR code text, BYE) and
exits 0 after BYE, 1 when the dock ended the session with ERROR or the
link closed, 2 on a local failure, 3 after --drop-after cut the link.

Faults for tests: --drop-after N closes the socket once N DATA bytes were
sent in this session (a camera pulled out mid-recording); --bad-sig ID
lists ID with a manifest signature that does not verify; --tamper-receipt
ID flips one byte of the receipt's sha256 field as received (the camera
must refuse it and keep the recording); --bad-identity signs HELLO_REPLY
wrongly; --corrupt ID serves ID's first DATA byte changed (its signed
SHA-256 no longer matches).

Requires python3-cryptography (Debian: python3-cryptography).
"""
import argparse
import hashlib
import json
import os
import socket
import struct
import sys
import time
import zlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)

# Section 3, 6, 9, 10 constants.
MAGIC = b"BCDK"
HDR = 16
MAX_PAYLOAD = 1048640
MAX_DATA = 1048576
MAX_READ = 67108864
LIST_MAX = 16
ID_MAX = 64
TEXT_MAX = 128
LOC_MAX = 256
TYPES = {0x01: "HELLO", 0x02: "HELLO_REPLY", 0x03: "AUTH_DOCK", 0x04: "AUTH_OK",
         0x05: "LIST_REQ", 0x06: "LIST_REPLY", 0x07: "READ_REQ", 0x08: "DATA",
         0x09: "RELEASE_REQ", 0x0A: "RELEASE_REPLY", 0x0B: "TIME_SET",
         0x0C: "TIME_REPLY", 0x0D: "STATUS_REQ", 0x0E: "STATUS_REPLY",
         0x0F: "BYE", 0x7F: "ERROR"}
T = {v: k for k, v in TYPES.items()}
E = {"BAD_MAGIC": 1, "BAD_VERSION": 2, "BAD_TYPE": 3, "BAD_FLAGS": 4,
     "TOO_LONG": 5, "TRUNCATED": 6, "BAD_CRC": 7, "TRAILING": 8,
     "BAD_STRING": 9, "BAD_FIELD": 10, "SEQ": 11, "UNEXPECTED": 12,
     "AUTH": 13, "UNENROLLED": 14, "NOT_FOUND": 15, "RANGE": 16,
     "BAD_RECEIPT": 17, "BUSY": 18, "INTERNAL": 19, "MISMATCH": 20}
ENAME = {v: k for k, v in E.items()}
FLAG_END = 1
ID_CHARS = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-")
CLOCK_TOLERANCE_S = 300  # 7.2 step 2: a camera MAY allow 300 s either side

DOM_CAM_AUTH = b"BCDK-v1 camera-auth\0"
DOM_DOCK_CERT = b"BCDK-v1 dock-cert\0"
DOM_DOCK_AUTH = b"BCDK-v1 dock-auth\0"
DOM_MANIFEST = b"BCDK-v1 manifest\0"
DOM_RECEIPT = b"BCDK-v1 receipt\0"


class CodecError(Exception):
    def __init__(self, code, why):
        super().__init__(why)
        self.code = code


# ---- section 2: encoding ---------------------------------------------------

def enc_id(s):
    b = s.encode() if isinstance(s, str) else s
    if not 1 <= len(b) <= ID_MAX or any(c not in ID_CHARS for c in b):
        raise ValueError("not a protocol id: %r" % (s,))
    return struct.pack(">H", len(b)) + b


def enc_text(s, limit=TEXT_MAX):
    b = s.encode()
    if len(b) > limit or any(c < 0x20 or c == 0x7F for c in b):
        raise ValueError("not a protocol text: %r" % (s,))
    return struct.pack(">H", len(b)) + b


class Reader:
    """Strict decoder over one payload (section 2's rejection rules)."""

    def __init__(self, buf):
        self.b, self.p = buf, 0

    def take(self, n):
        if self.p + n > len(self.b):
            raise CodecError(E["TRUNCATED"], "field ends beyond the payload")
        v = self.b[self.p:self.p + n]
        self.p += n
        return v

    def u8(self): return self.take(1)[0]
    def u16(self): return struct.unpack(">H", self.take(2))[0]
    def u32(self): return struct.unpack(">I", self.take(4))[0]
    def u64(self): return struct.unpack(">Q", self.take(8))[0]
    def i32(self): return struct.unpack(">i", self.take(4))[0]
    def i64(self): return struct.unpack(">q", self.take(8))[0]

    def id(self):
        n = self.u16()
        if n > ID_MAX:  # limit checked before the bytes are read
            raise CodecError(E["TOO_LONG"], "id longer than 64")
        b = self.take(n)
        if n == 0 or any(c not in ID_CHARS for c in b):
            raise CodecError(E["BAD_STRING"], "bad id")
        return b.decode()

    def text(self, limit=TEXT_MAX):
        n = self.u16()
        if n > limit:
            raise CodecError(E["TOO_LONG"], "text too long")
        b = self.take(n)
        if any(c < 0x20 or c == 0x7F for c in b):
            raise CodecError(E["BAD_STRING"], "control byte in text")
        try:
            return b.decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            raise CodecError(E["BAD_STRING"], "invalid UTF-8") from None

    def end(self):
        if self.p != len(self.b):
            raise CodecError(E["TRAILING"], "bytes after the last field")


# ---- section 3: framing ----------------------------------------------------

def frame(ftype, seq, payload, flags=0):
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("payload too long")
    h = MAGIC + struct.pack(">BBHII", 1, ftype, flags, seq, len(payload))
    body = h + payload
    return body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


class Link:
    def __init__(self, sock):
        self.s = sock

    def recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            b = self.s.recv(min(n - len(buf), 1 << 20))
            if not b:
                return None
            buf += b
        return bytes(buf)

    def read_frame(self):
        """(type, flags, seq, payload); None on EOF; CodecError on a bad frame.
        Unknown types raise CodecError BAD_TYPE with .skip set (3.1)."""
        h = self.recv_exact(HDR)
        if h is None:
            return None
        magic, ver, ftype, flags, seq, ln = struct.unpack(">4sBBHII", h)
        if magic != MAGIC:
            raise CodecError(E["BAD_MAGIC"], "bad magic")
        if ver != 1:
            raise CodecError(E["BAD_VERSION"], "header version %d" % ver)
        unknown = ftype not in TYPES
        if flags & ~FLAG_END or (flags & FLAG_END and ftype != T["DATA"] and not unknown):
            raise CodecError(E["BAD_FLAGS"], "bad flags")
        if ln > MAX_PAYLOAD:
            raise CodecError(E["TOO_LONG"], "length above PROTO_MAX_PAYLOAD")
        rest = self.recv_exact(ln + 4)
        if rest is None:
            raise CodecError(E["TRUNCATED"], "frame cut short")
        if unknown:
            e = CodecError(E["BAD_TYPE"], "unknown type 0x%02x" % ftype)
            e.skip, e.seq = True, seq
            raise e
        payload, crc = rest[:ln], struct.unpack(">I", rest[ln:])[0]
        if zlib.crc32(h + payload) & 0xFFFFFFFF != crc:
            raise CodecError(E["BAD_CRC"], "crc mismatch")
        return ftype, flags, seq, payload

    def send(self, ftype, seq, payload=b"", flags=0):
        self.s.sendall(frame(ftype, seq, payload, flags))

    def error(self, code, seq, text):
        self.send(T["ERROR"], seq, struct.pack(">H", E[code]) + enc_text(text[:TEXT_MAX]))


# ---- the camera's storage --------------------------------------------------

def fsync_dir(d):
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(path))


def load_ident(d):
    with open(os.path.join(d, "identity.json")) as f:
        ident = json.load(f)
    with open(os.path.join(d, "device.key"), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    with open(os.path.join(d, "agency.pub"), "rb") as f:
        agency = serialization.load_pem_public_key(f.read())
    if not isinstance(key, Ed25519PrivateKey) or not isinstance(agency, Ed25519PublicKey):
        raise SystemExit("indcam: device or agency key is not Ed25519")
    return ident, key, agency


def raw_pub(pub):
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def recordings(d):
    """Finalised recordings, oldest first (8.1): by start time, then order added."""
    recs = []
    rd = os.path.join(d, "recs")
    for n in os.listdir(rd):
        if n.endswith(".json"):
            with open(os.path.join(rd, n)) as f:
                recs.append(json.load(f))
    recs.sort(key=lambda r: (r["start"], r["order"]))
    return recs


def clock_ns(d):
    """The camera's clock: the host clock plus the offset TIME_SET stored."""
    try:
        with open(os.path.join(d, "clock_offset_ns")) as f:
            off = int(f.read())
    except FileNotFoundError:
        off = 0
    return time.time_ns() + off


def cmd_init(a):
    os.makedirs(os.path.join(a.dir, "recs"), exist_ok=True)
    os.makedirs(os.path.join(a.dir, "receipts"), exist_ok=True)
    key = Ed25519PrivateKey.generate()
    with open(a.agency_pub, "rb") as f:
        agency = serialization.load_pem_public_key(f.read())
    if not isinstance(agency, Ed25519PublicKey):
        raise SystemExit("indcam: the agency key must be Ed25519")
    enc_id(a.serial)
    enc_id(a.officer)
    enc_text(a.model)
    with open(os.path.join(a.dir, "device.key"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(os.path.join(a.dir, "agency.pub"), "wb") as f:
        f.write(agency.public_bytes(serialization.Encoding.PEM,
                                    serialization.PublicFormat.SubjectPublicKeyInfo))
    with open(os.path.join(a.dir, "identity.json"), "w") as f:
        json.dump({"serial": a.serial, "model": a.model, "firmware": a.firmware,
                   "officer": a.officer, "next": 1}, f)
    print(raw_pub(key.public_key()).hex())


def cmd_add(a):
    enc_id(a.id)
    ipath = os.path.join(a.dir, "identity.json")
    with open(ipath) as f:
        ident = json.load(f)
    h, size = hashlib.sha256(), 0
    dst = os.path.join(a.dir, "recs", a.id + ".bin")
    with open(a.file, "rb") as src, open(dst, "wb") as out:
        while True:
            b = src.read(1 << 20)
            if not b:
                break
            h.update(b)
            size += len(b)
            out.write(b)
    lat = lon = 0
    if a.gps:
        lat, lon = (int(x) for x in a.gps.split(","))
    start = a.start if a.start is not None else int(time.time())
    meta = {"id": a.id, "size": size, "sha256": h.hexdigest(), "start": start,
            "end": a.end if a.end is not None else start, "category": a.category,
            "gps": bool(a.gps), "lat": lat, "lon": lon, "order": ident["next"]}
    ident["next"] += 1
    write_durably(os.path.join(a.dir, "recs", a.id + ".json"), json.dumps(meta).encode())
    write_durably(ipath, json.dumps(ident).encode())
    print(a.id, size, meta["sha256"])


def cmd_list(a):
    for r in recordings(a.dir):
        print(r["id"], r["size"], r["sha256"])


# ---- section 6/7: messages and signatures ------------------------------------

def enc_entry(r):
    """Manifest entry without sig (6.5)."""
    return (enc_id(r["id"]) + struct.pack(">Q", r["size"]) + bytes.fromhex(r["sha256"]) +
            struct.pack(">qq", r["start"], r["end"]) + enc_text(r["category"]) +
            struct.pack(">Bii", 1 if r["gps"] else 0, r["lat"], r["lon"]))


def parse_cert(rd):
    """Dock certificate (6.3); returns (dict, encoded bytes incl. agency_sig)."""
    p0 = rd.p
    c = {"dock_id": rd.id(), "agency_id": rd.id(), "dock_pubkey": rd.take(32),
         "not_before": rd.i64(), "not_after": rd.i64()}
    if c["not_after"] < c["not_before"]:
        raise CodecError(E["BAD_FIELD"], "not_after before not_before")
    signed_end = rd.p
    c["agency_sig"] = rd.take(64)
    return c, rd.b[p0:signed_end], rd.b[p0:rd.p]


def parse_receipt(payload):
    rd = Reader(payload)
    p0 = rd.p
    r = {"recording_id": rd.id(), "sha256": rd.take(32), "location": rd.text(LOC_MAX),
         "dock_id": rd.id(), "issued_utc": rd.i64()}
    r["tbs"] = DOM_RECEIPT + rd.b[p0:rd.p]
    r["sig"] = rd.take(64)
    rd.end()
    return r


def verify(pub_raw, sig, msg):
    try:
        Ed25519PublicKey.from_public_bytes(pub_raw).verify(sig, msg)
        return True
    except (InvalidSignature, ValueError):
        return False


def check_receipt(cert, r, own_sha):
    """7.5 step 2 and 3; returns None or why it is refused."""
    if r["dock_id"] != cert["dock_id"]:
        return "receipt dock_id %s is not the authenticated dock %s" % (r["dock_id"], cert["dock_id"])
    if not verify(cert["dock_pubkey"], r["sig"], r["tbs"]):
        return "receipt signature does not verify with the dock's key"
    if r["sha256"].hex() != own_sha:
        return "receipt sha256 differs from the camera's record"
    return None


class Session:
    def __init__(self, a, link):
        self.a, self.d, self.link = a, a.dir, link
        self.ident, self.key, self.agency = load_ident(a.dir)
        self.state = "WAIT_HELLO"
        self.cert = None
        self.sent = 0
        self.manifest = None

    def log(self, *w):
        print(" ".join(str(x) for x in w), flush=True)

    def run(self):
        while True:
            try:
                f = self.link.read_frame()
            except CodecError as e:
                if getattr(e, "skip", False):
                    # 3.1: a frame whose header is valid but for its type is
                    # skipped and answered with ERROR BAD_TYPE (its seq); the
                    # camera stays in its state.
                    self.log("SKIP", e)
                    self.link.error("BAD_TYPE", e.seq, str(e))
                    continue
                self.log("CODEC-ERROR", ENAME[e.code], e)
                self.link.error(ENAME[e.code], 0, str(e))
                return 1
            if f is None:
                self.log("EOF")
                return 1
            ftype, flags, seq, payload = f
            try:
                rc = self.dispatch(TYPES[ftype], seq, payload)
            except CodecError as e:  # 5: a frame that fails to decode
                self.log("CODEC-ERROR", ENAME[e.code], e)
                self.link.error(ENAME[e.code], 0, str(e))
                return 1
            if rc is not None:
                return rc

    def dispatch(self, name, seq, payload):
        if name == "ERROR":
            rd = Reader(payload)
            code, text = rd.u16(), rd.text()
            rd.end()
            if code not in ENAME:  # section 9
                raise CodecError(E["BAD_FIELD"], "error code %d outside 1..20" % code)
            self.log("DOCK-ERROR", ENAME.get(code, code), text)
            return 1
        if name == "BYE":
            if payload:
                raise CodecError(E["TRAILING"], "BYE with a payload")
            self.log("BYE")
            return 0
        allowed = {"WAIT_HELLO": ("HELLO",), "WAIT_AUTH": ("AUTH_DOCK",),
                   "READY": ("LIST_REQ", "READ_REQ", "RELEASE_REQ", "TIME_SET",
                             "STATUS_REQ")}[self.state]
        if name not in allowed:
            self.log("UNEXPECTED", name, "in", self.state)
            # 5: answered, and the camera stays in its state (nothing served)
            self.link.error("UNEXPECTED", seq, "%s in state %s" % (name, self.state))
            return None
        return getattr(self, "on_" + name.lower())(seq, payload)

    def on_hello(self, seq, payload):
        rd = Reader(payload)
        vmin, vmax, self.dock_nonce, self.hello_dock = rd.u8(), rd.u8(), rd.take(32), rd.id()
        rd.end()
        if vmin < 1 or vmax < vmin:
            raise CodecError(E["BAD_FIELD"], "bad version range")
        if not vmin <= 1 <= vmax:
            self.link.error("BAD_VERSION", seq, "v1 only")
            return 1
        self.cam_nonce = os.urandom(32)
        i = self.ident
        self.identity = (enc_id(i["serial"]) + enc_text(i["model"]) + enc_text(i["firmware"]) +
                         raw_pub(self.key.public_key()) + enc_id(i["officer"]) +
                         struct.pack(">q", clock_ns(self.d)))
        sig = bytearray(self.key.sign(DOM_CAM_AUTH + self.dock_nonce + self.cam_nonce +
                                      self.identity))
        if self.a.bad_identity:
            sig[0] ^= 0x01
        sig = bytes(sig)
        self.link.send(T["HELLO_REPLY"], seq, b"\x01" + self.cam_nonce + self.identity + sig)
        self.state = "WAIT_AUTH"
        self.log("HELLO", self.hello_dock)

    def on_auth_dock(self, seq, payload):
        rd = Reader(payload)
        cert, cert_signed, cert_all = parse_cert(rd)
        sig = rd.take(64)
        rd.end()
        why = None
        now = clock_ns(self.d) // 1000000000
        if not verify(raw_pub(self.agency), cert["agency_sig"], DOM_DOCK_CERT + cert_signed):
            why = "dock certificate not signed by the agency"
        elif not (cert["not_before"] - CLOCK_TOLERANCE_S <= now <= cert["not_after"] + CLOCK_TOLERANCE_S):
            why = "dock certificate not valid now"
        elif cert["dock_id"] != self.hello_dock:
            why = "certificate dock_id differs from HELLO's"
        elif not verify(cert["dock_pubkey"], sig, DOM_DOCK_AUTH + self.cam_nonce + self.dock_nonce +
                        enc_id(self.ident["serial"]) + cert_all):
            why = "dock signature does not verify"
        if why:
            self.log("AUTH-REFUSED", why)
            self.link.error("AUTH", seq, why)
            return 1
        self.cert, self.cert_all = cert, cert_all
        # The manifest is fixed for the session (8.1).
        self.manifest = recordings(self.d)
        self.link.send(T["AUTH_OK"], seq)
        self.state = "READY"
        self.log("AUTH", cert["dock_id"], cert["agency_id"])

    def on_list_req(self, seq, payload):
        rd = Reader(payload)
        start = rd.u32()
        rd.end()
        total = len(self.manifest)
        if start > total:
            self.link.error("RANGE", seq, "start beyond the manifest")
            return None
        page = self.manifest[start:start + LIST_MAX]
        out = struct.pack(">II", total, len(page))
        for r in page:
            e = enc_entry(r)
            sig = bytearray(self.key.sign(DOM_MANIFEST + enc_id(self.ident["serial"]) + e))
            if r["id"] in (self.a.bad_sig or []):
                sig[0] ^= 0x01
            out += e + bytes(sig)
        self.link.send(T["LIST_REPLY"], seq, out)
        self.log("LIST", start, len(page), total)

    def find(self, rid):
        for r in self.manifest:
            if r["id"] == rid and os.path.exists(os.path.join(self.d, "recs", rid + ".json")):
                return r
        return None

    def on_read_req(self, seq, payload):
        rd = Reader(payload)
        rid, off, ln = rd.id(), rd.u64(), rd.u32()
        rd.end()
        if not 1 <= ln <= MAX_READ or off + ln > 2**63 - 1:
            raise CodecError(E["BAD_FIELD"], "bad read range")
        r = self.find(rid)
        if r is None:
            self.link.error("NOT_FOUND", seq, "no recording " + rid)
            return None
        if off + ln > r["size"]:
            self.link.error("RANGE", seq, "beyond the recording")
            return None
        self.log("READ", rid, off, ln)
        end = off + ln
        with open(os.path.join(self.d, "recs", rid + ".bin"), "rb") as f:
            f.seek(off)
            pos = off
            while pos < end:
                n = min(MAX_DATA, end - pos)
                data = f.read(n)
                if len(data) != n:
                    self.link.error("INTERNAL", seq, "storage read failed")
                    return None
                if self.a.drop_after is not None and self.sent + n > self.a.drop_after:
                    cut = self.a.drop_after - self.sent
                    if cut > 0:
                        self.link.send(T["DATA"], seq, struct.pack(">QI", pos, cut) + data[:cut])
                    self.log("DROP", rid, pos + max(cut, 0))
                    return 3
                flags = FLAG_END if pos + n == end else 0
                if rid in (self.a.corrupt or []) and pos == off:
                    data = bytes([data[0] ^ 1]) + data[1:]  # a lying camera
                self.link.send(T["DATA"], seq, struct.pack(">QI", pos, n) + data, flags)
                self.sent += n
                pos += n
        return None

    def on_release_req(self, seq, payload):
        r = parse_receipt(payload)
        rid = r["recording_id"]
        if rid in (self.a.tamper_receipt or []):
            # Test fault: one bit of the receipt's sha256 changed in transit.
            at = 2 + len(rid.encode())
            payload = payload[:at] + bytes([payload[at] ^ 1]) + payload[at + 1:]
            r = parse_receipt(payload)
        rec = self.find(rid)
        if rec is None:
            self.link.error("NOT_FOUND", seq, "no recording " + rid)
            self.log("RELEASE-NOTFOUND", rid)
            return None
        why = check_receipt(self.cert, r, rec["sha256"])
        if why:
            self.link.error("BAD_RECEIPT", seq, why)
            self.log("RELEASE-REFUSED", rid, why)
            return None
        # Keep the receipt (with the certificate that vouches for its key)
        # before deleting: it is the camera's proof of custody transfer.
        write_durably(os.path.join(self.d, "receipts", rid + ".rcpt"),
                      struct.pack(">I", len(self.cert_all)) + self.cert_all + payload)
        try:
            os.unlink(os.path.join(self.d, "recs", rid + ".json"))
            os.unlink(os.path.join(self.d, "recs", rid + ".bin"))
            fsync_dir(os.path.join(self.d, "recs"))
        except OSError as e:
            self.link.error("INTERNAL", seq, "delete failed: %s" % e.strerror)
            return None
        self.link.send(T["RELEASE_REPLY"], seq, enc_id(rid) + b"\x01")
        self.log("RELEASE-OK", rid, r["sha256"].hex(), r["location"])

    def on_time_set(self, seq, payload):
        rd = Reader(payload)
        dock_ns = rd.i64()
        rd.end()
        before = clock_ns(self.d)
        write_durably(os.path.join(self.d, "clock_offset_ns"),
                      str(dock_ns - time.time_ns()).encode())
        after = clock_ns(self.d)
        self.link.send(T["TIME_REPLY"], seq, struct.pack(">qq", before, after))
        self.log("TIME", before - dock_ns)

    def on_status_req(self, seq, payload):
        if payload:
            raise CodecError(E["TRAILING"], "STATUS_REQ with a payload")
        st = os.statvfs(self.d)
        total = st.f_blocks * st.f_frsize
        free = min(st.f_bavail * st.f_frsize, total)
        n = len(recordings(self.d))
        self.link.send(T["STATUS_REPLY"], seq, struct.pack(">BQQI", 100, free, total, n))
        self.log("STATUS", n)


def cmd_serve(a):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(a.idle)
    s.connect(a.connect)
    sess = Session(a, Link(s))
    try:
        rc = sess.run()
    except socket.timeout:
        sess.log("IDLE-TIMEOUT")
        rc = 1
    except (BrokenPipeError, ConnectionResetError) as e:
        sess.log("LINK-LOST", e)
        rc = 1
    s.close()
    return rc


def cmd_receipts(a):
    """Re-verify every kept receipt against the certificate it came with."""
    ident, _, agency = load_ident(a.dir)
    bad = 0
    rdir = os.path.join(a.dir, "receipts")
    for n in sorted(os.listdir(rdir)):
        if not n.endswith(".rcpt"):
            continue
        with open(os.path.join(rdir, n), "rb") as f:
            b = f.read()
        cl = struct.unpack(">I", b[:4])[0]
        cert, cert_signed, _ = parse_cert(Reader(b[4:4 + cl]))
        r = parse_receipt(b[4 + cl:])
        ok = (verify(raw_pub(agency), cert["agency_sig"], DOM_DOCK_CERT + cert_signed) and
              check_receipt(cert, r, r["sha256"].hex()) is None and n == r["recording_id"] + ".rcpt")
        print(r["recording_id"], r["sha256"].hex(), "ok" if ok else "BAD")
        bad += not ok
    return 1 if bad else 0


def cmd_probe(a):
    """The other direction: a scripted dock, written from the same doc, that a
    camera (the reference camsim) connects to. Checks the camera-side rules
    of sections 3.1, 5, 7.1, 7.2, 7.4 and 8.1; prints one line per step and
    exits 1 if any expectation failed."""
    with open(a.agency_key, "rb") as f:
        agency = serialization.load_pem_private_key(f.read(), None)
    dock = Ed25519PrivateKey.generate()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(a.listen)
    srv.listen(1)
    srv.settimeout(30)
    conn, _ = srv.accept()
    conn.settimeout(30)
    link, bad = Link(conn), 0

    def expect(what, seq, want, check=None):
        nonlocal bad
        f = link.read_frame()
        ok = f is not None and TYPES[f[0]] == want[0] and f[2] == seq
        if ok and want[0] == "ERROR":
            ok = struct.unpack(">H", f[3][:2])[0] == E[want[1]]
        if ok and check:
            ok = check(f[3])
        got = "EOF" if f is None else "%s seq %d" % (TYPES[f[0]], f[2]) + (
            " " + ENAME.get(struct.unpack(">H", f[3][:2])[0], "?") if TYPES[f[0]] == "ERROR" else "")
        print(what + ":", "ok" if ok else "FAILED", "(" + got + ")", flush=True)
        bad += not ok
        return f[3] if f else b""

    link.send(T["LIST_REQ"], 7, struct.pack(">I", 0))
    expect("LIST_REQ before HELLO -> ERROR UNEXPECTED, same seq", 7, ("ERROR", "UNEXPECTED"))
    link.send(0x55, 8, b"x", FLAG_END)  # frame() does not check the type
    expect("unknown type (END set) -> ERROR BAD_TYPE, same seq", 8, ("ERROR", "BAD_TYPE"))
    dock_nonce = os.urandom(32)
    link.send(T["HELLO"], 9, b"\x01\x01" + dock_nonce + enc_id(a.dock_id))
    hr = expect("HELLO still answered after both -> HELLO_REPLY", 9, ("HELLO_REPLY",))
    rd = Reader(hr)
    rd.u8()
    cam_nonce, id0 = rd.take(32), rd.p
    serial, _, _ = rd.id(), rd.text(), rd.text()
    pub = rd.take(32)
    rd.id(), rd.i64()
    identity, sig = hr[id0:rd.p], rd.take(64)
    ok = verify(pub, sig, DOM_CAM_AUTH + dock_nonce + cam_nonce + identity)
    print("HELLO_REPLY signature verifies (7.1):", "ok" if ok else "FAILED", flush=True)
    bad += not ok
    now = int(time.time())
    cert = (enc_id(a.dock_id) + enc_id(a.agency_id) + raw_pub(dock.public_key()) +
            struct.pack(">qq", now - 60, now + 3600))
    cert += agency.sign(DOM_DOCK_CERT + cert)
    link.send(T["AUTH_DOCK"], 10, cert + dock.sign(DOM_DOCK_AUTH + cam_nonce + dock_nonce +
                                                    enc_id(serial) + cert))
    expect("AUTH_DOCK -> AUTH_OK (7.2)", 10, ("AUTH_OK",))
    link.send(T["HELLO"], 11, b"\x01\x01" + dock_nonce + enc_id(a.dock_id))
    expect("HELLO in READY -> ERROR UNEXPECTED, session stays", 11, ("ERROR", "UNEXPECTED"))
    link.send(T["LIST_REQ"], 12, struct.pack(">I", 0))
    lr = expect("LIST_REQ -> LIST_REPLY", 12, ("LIST_REPLY",))
    rd = Reader(lr)
    total, count = rd.u32(), rd.u32()
    listed = []
    for _ in range(count):
        e0 = rd.p
        listed.append(rd.id())
        rd.u64(), rd.take(32), rd.i64(), rd.i64(), rd.text(), rd.u8(), rd.i32(), rd.i32()
        entry, esig = lr[e0:rd.p], rd.take(64)
        ok = verify(pub, esig, DOM_MANIFEST + enc_id(serial) + entry)
        print("manifest entry signature verifies (7.4):", "ok" if ok else "FAILED", flush=True)
        bad += not ok
    link.send(T["LIST_REQ"], 13, struct.pack(">I", total + 1))
    expect("LIST_REQ start > total -> ERROR RANGE (8.1)", 13, ("ERROR", "RANGE"))
    link.send(T["STATUS_REQ"], 14)
    expect("STATUS_REQ -> STATUS_REPLY, session still READY", 14, ("STATUS_REPLY",))

    def receipt(rid, sha):
        body = (enc_id(rid) + sha + enc_text("probe://nowhere", LOC_MAX) + enc_id(a.dock_id) +
                struct.pack(">q", now))
        return body + dock.sign(DOM_RECEIPT + body)
    link.send(T["RELEASE_REQ"], 15, receipt("NO-SUCH-REC", bytes(32)))
    expect("RELEASE_REQ for an unknown id -> ERROR NOT_FOUND (7.5 step 1)", 15, ("ERROR", "NOT_FOUND"))
    if listed:
        link.send(T["RELEASE_REQ"], 16, receipt(listed[0], bytes(32)))
        expect("RELEASE_REQ with another SHA-256 -> ERROR BAD_RECEIPT (7.5 step 3)", 16,
               ("ERROR", "BAD_RECEIPT"))
    link.send(T["BYE"], 17)
    conn.close()
    srv.close()
    return 1 if bad else 0


def cmd_selftest(a):
    """The worked example of docs/protocol.md section 13 and the CRC check
    value of 3.3, rebuilt with this camera's encoder."""
    hello = frame(T["HELLO"], 1, b"\x01\x01" + bytes(range(32)) + enc_id("dock-001"))
    want = bytes.fromhex(
        "42434 44b 0101 0000 00000001 0000002c 0101 000102030405060708090a0b0c0d"
        "0e0f101112131415161718191a1b1c1d 1e1f 0008 646f636b2d303031 714fb738".replace(" ", ""))
    err = frame(T["ERROR"], 1, struct.pack(">H", E["BAD_VERSION"]) + enc_text("v1 only"))
    want_err = bytes.fromhex("42434 44b 017f 0000 00000001 0000000b 0002 0007 7631206f6e6c79"
                             " 82d4ece5".replace(" ", ""))
    bad = 0
    for name, got, exp in (("HELLO", hello, want), ("ERROR", err, want_err)):
        print(name, "ok" if got == exp else "DIFFERS: " + got.hex())
        bad += got != exp
    crc = zlib.crc32(b"123456789") & 0xFFFFFFFF
    print("CRC-32 check value", "ok" if crc == 0xCBF43926 else "DIFFERS")
    bad += crc != 0xCBF43926
    return 1 if bad else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("init")
    q.add_argument("--dir", required=True)
    q.add_argument("--serial", required=True)
    q.add_argument("--model", default="indcam")
    q.add_argument("--firmware", default="indcam-1")
    q.add_argument("--officer", required=True)
    q.add_argument("--agency-pub", required=True)
    q = sub.add_parser("add")
    q.add_argument("--dir", required=True)
    q.add_argument("--id", required=True)
    q.add_argument("--file", required=True)
    q.add_argument("--category", default="")
    q.add_argument("--start", type=int)
    q.add_argument("--end", type=int)
    q.add_argument("--gps")
    q = sub.add_parser("list")
    q.add_argument("--dir", required=True)
    q = sub.add_parser("serve")
    q.add_argument("--dir", required=True)
    q.add_argument("--connect", required=True)
    q.add_argument("--idle", type=float, default=60.0)
    q.add_argument("--drop-after", type=int)
    q.add_argument("--bad-sig", action="append")
    q.add_argument("--tamper-receipt", action="append")
    q.add_argument("--bad-identity", action="store_true")
    q.add_argument("--corrupt", action="append")
    q = sub.add_parser("receipts")
    q.add_argument("--dir", required=True)
    sub.add_parser("selftest")
    q = sub.add_parser("probe")
    q.add_argument("--listen", required=True)
    q.add_argument("--agency-key", required=True)
    q.add_argument("--agency-id", default="pd-test")
    q.add_argument("--dock-id", default="probe-dock")
    a = p.parse_args()
    rc = {"init": cmd_init, "add": cmd_add, "list": cmd_list, "serve": cmd_serve,
          "receipts": cmd_receipts, "selftest": cmd_selftest, "probe": cmd_probe}[a.cmd](a)
    sys.exit(rc or 0)


if __name__ == "__main__":
    main()
