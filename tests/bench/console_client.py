#!/usr/bin/python3
"""Timing client for tests/bench/console.sh (figures only, no assertions).

Logs in to custody-console as one clerk (PAM password + an RFC 6238 code
computed here), then times whole HTTPS requests on one keep-alive
connection: each request is written, the whole body read, and the wall
time from send to last byte recorded. Prints per round
"# ROUND name r p50 p90 p99 max" (ms) and at the end
"BENCH name_p99 MEDIAN ms" (median of the rounds' p99), plus p50.
Arguments: HOST PORT USER PASSWORD TOTP_SECRET ROUNDS N IDS_FILE OFFICERS
"""
import base64, hashlib, hmac, http.client, random, re, ssl, statistics
import struct, sys, time, urllib.parse

host, port, user, pw, secret = sys.argv[1:6]
rounds, n = int(sys.argv[6]), int(sys.argv[7])
ids = [l.strip() for l in open(sys.argv[8]) if l.strip()]
officers = int(sys.argv[9])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE     # the bench's own self-signed certificate
conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=60)
cookie = ""


def req(method, path, body=None):
    global cookie
    h = {"Cookie": cookie} if cookie else {}
    if body is not None:
        h["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    for k, v in r.getheaders():
        if k.lower() == "set-cookie":
            cookie = v.split(";", 1)[0]
    return r.status, data


def totp():
    step = int(time.time() // 30)
    mac = hmac.new(base64.b32decode(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


st, page = req("GET", "/login")
csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', page).group(1).decode()
st, page = req("POST", "/login", urllib.parse.urlencode(
    {"csrf": csrf, "user": user, "password": pw, "otp": totp()}))
if st not in (200, 302, 303):
    print("# login failed: HTTP %d" % st)
    sys.exit(1)

rng = random.Random(1)


def item_path():
    # the service asks a reason for every history read (as the search link does)
    return "/item?" + urllib.parse.urlencode({"id": rng.choice(ids), "reason": "bench"})


def search_officer_path():
    # one officer's items (~1/OFFICERS of all), 200 rows rendered
    return "/search?" + urllib.parse.urlencode({
        "officer": "officer-%03d" % rng.randrange(officers), "reason": "bench"})


def search_case_path():
    return "/search?" + urllib.parse.urlencode({
        "case": "CASE-%04d" % rng.randrange(1000), "reason": "bench"})


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100.0 + 0.999999) - 1)]


def run(name, mk):
    p99s, p50s = [], []
    bad = 0
    for r in range(rounds):
        t = []
        for _ in range(n):
            path = mk()
            t0 = time.perf_counter()
            st, body = req("GET", path)
            t.append((time.perf_counter() - t0) * 1000.0)
            if st != 200:
                if not bad:
                    print("# %s: first non-200: HTTP %d for %s: %s" % (
                        name, st, path, re.sub(rb"<[^>]*>", b" ", body)[-300:]))
                bad += 1
        p50s.append(pct(t, 50))
        p99s.append(pct(t, 99))
        print("# ROUND %s %d: p50 %.1f p90 %.1f p99 %.1f max %.1f ms (%d requests)"
              % (name, r + 1, pct(t, 50), pct(t, 90), pct(t, 99), max(t), n), flush=True)
    if bad:
        print("# %s: %d responses were not 200" % (name, bad))
    print("BENCH %s_p50 %.1f ms" % (name, statistics.median(p50s)))
    print("BENCH %s_p99 %.1f ms" % (name, statistics.median(p99s)), flush=True)


run("console_item", item_path)
run("console_search_officer", search_officer_path)
run("console_search_case", search_case_path)
