#!/usr/bin/env python3
"""Independent BagIt (RFC 8493) validator for serialized bags (tar or zip),
written from the RFC alone for the court-package tests (issue 13). It
shares no code with `custody export` / `custody verify-package`.

usage: bagit_check.py PACKAGE.tar|PACKAGE.zip
Exit 0 and "valid" if the bag is valid; exit 1 with the reason otherwise.
Checks (RFC 8493): one top directory (4, serialization); bagit.txt with
version and encoding (2.1.1); a payload manifest for sha256 covering every
file under data/ and nothing missing (2.1.3, 3); each tag manifest line
(2.2.1); Payload-Oxum (2.2.2); no fetch.txt (we require complete bags).
"""
import hashlib
import sys
import tarfile
import zipfile


def entries(path):
    """(name, bytes) of every regular file; refuse anything else."""
    out = {}
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for i in z.infolist():
                if i.is_dir():
                    continue
                add(out, i.filename, z.read(i))
        return out
    with tarfile.open(path, "r:") as t:
        for m in t.getmembers():
            if m.isdir():
                continue
            if not m.isfile():
                raise ValueError("%s: not a regular file" % m.name)
            add(out, m.name, t.extractfile(m).read())
    return out


def add(out, name, data):
    parts = name.split("/")
    if name.startswith("/") or ".." in parts or "" in parts:
        raise ValueError("%s: unsafe path" % name)
    if name in out:
        raise ValueError("%s: duplicate" % name)
    out[name] = data


def decode(p):
    return p.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")


def manifest(files, name):
    seen = {}
    text = files[name].decode("utf-8")
    for line in text.splitlines():
        digest, sep, path = line.partition(" ")
        path = decode(path.lstrip(" \t"))
        if not sep or len(digest) != 64 or not path:
            raise ValueError("%s: bad line %r" % (name, line))
        if path in seen:
            raise ValueError("%s: %s listed twice" % (name, path))
        seen[path] = digest.lower()
    return seen


def main():
    files = entries(sys.argv[1])
    tops = {n.split("/", 1)[0] for n in files}
    if len(tops) != 1 or any("/" not in n for n in files):
        raise ValueError("not exactly one top directory: %s" % sorted(tops))
    top = tops.pop()
    bag = {n[len(top) + 1:]: d for n, d in files.items()}
    bt = bag.get("bagit.txt")
    if bt is None:
        raise ValueError("no bagit.txt")
    lines = bt.decode("utf-8").splitlines()
    if len(lines) != 2 or not lines[0].startswith("BagIt-Version: ") or \
            lines[1] != "Tag-File-Character-Encoding: UTF-8":
        raise ValueError("bad bagit.txt")
    if "fetch.txt" in bag:
        raise ValueError("fetch.txt: incomplete bag")
    if "manifest-sha256.txt" not in bag:
        raise ValueError("no manifest-sha256.txt")
    payload = {n for n in bag if n.startswith("data/")}
    m = manifest(bag, "manifest-sha256.txt")
    for path, digest in m.items():
        if not path.startswith("data/"):
            raise ValueError("manifest lists %s outside data/" % path)
        if path not in bag:
            raise ValueError("manifest lists missing %s" % path)
        if hashlib.sha256(bag[path]).hexdigest() != digest:
            raise ValueError("checksum mismatch: %s" % path)
    extra = payload - set(m)
    if extra:
        raise ValueError("payload not in manifest: %s" % sorted(extra))
    for tm in [n for n in bag if n.startswith("tagmanifest-") and n.endswith(".txt")]:
        alg = tm[len("tagmanifest-"):-4]
        for path, digest in manifest(bag, tm).items():
            if path not in bag:
                raise ValueError("%s lists missing %s" % (tm, path))
            if hashlib.new(alg, bag[path]).hexdigest() != digest:
                raise ValueError("tag checksum mismatch: %s" % path)
    info = bag.get("bag-info.txt", b"").decode("utf-8")
    for line in info.splitlines():
        if line.startswith("Payload-Oxum:"):
            octets, count = line.split(":", 1)[1].strip().split(".")
            if int(octets) != sum(len(bag[p]) for p in payload) or \
                    int(count) != len(payload):
                raise ValueError("Payload-Oxum mismatch")
    print("valid: %s (%d payload files)" % (top, len(payload)))


if __name__ == "__main__":
    try:
        main()
    except (ValueError, KeyError, tarfile.TarError, zipfile.BadZipFile,
            UnicodeDecodeError) as e:
        print("invalid: %s" % e)
        sys.exit(1)
