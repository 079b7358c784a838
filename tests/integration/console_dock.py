#!/usr/bin/python3
"""The dock page, the alerts and the witness pages in a real headless Chromium
(tests/integration/console_dock.sh, which starts dockd, a docked camsim
camera, the witnesses and the console). Prints "PASS desc" / "FAIL desc" per
check or "SKIP reason". Arguments: BASE_URL OUTDIR SECRETS_FILE PASSWORDS_FILE.
"""
import base64, hashlib, hmac, os, struct, sys, time

BASE, OUT, SECRETS, PASSWORDS = sys.argv[1:5]
secrets = dict(l.split() for l in open(SECRETS) if l.strip() and not l.startswith("#"))
passwords = dict(l.split(":")[:2] for l in open(PASSWORDS) if l.strip())
used_steps = {}


def check(desc, cond):
    print(("PASS " if cond else "FAIL ") + desc, flush=True)
    return cond


def totp(user):
    """RFC 6238 (HMAC-SHA1, 30 s, 6 digits), a new time step per login."""
    step = max(int(time.time() // 30), used_steps.get(user, -1) + 1)
    used_steps[user] = step
    mac = hmac.new(base64.b32decode(secrets[user]), struct.pack(">Q", step),
                   hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


try:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait
    from selenium.webdriver.chrome.service import Service
except ImportError as e:
    print("SKIP python3-selenium is not installed (%s)" % e)
    sys.exit(0)

opts = webdriver.ChromeOptions()
for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
          "--disable-gpu", "--window-size=1400,1000"):
    opts.add_argument(a)
opts.binary_location = "/usr/bin/chromium"
opts.accept_insecure_certs = True
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
try:
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
except WebDriverException as e:
    print("SKIP chromium cannot start here: %s" % str(e).splitlines()[0])
    sys.exit(0)
os.makedirs(OUT, exist_ok=True)


def shot(name):
    drv.save_screenshot(os.path.join(OUT, name + ".png"))


def text(sel):
    els = drv.find_elements(By.CSS_SELECTOR, sel)
    return els[0].text if els else ""


def login(user):
    drv.delete_all_cookies()
    drv.get(BASE + "/login")
    drv.find_element(By.ID, "user").send_keys(user)
    drv.find_element(By.ID, "password").send_keys(passwords[user])
    drv.find_element(By.ID, "otp").send_keys(totp(user))
    old = drv.find_element(By.ID, "login")
    old.click()

    def gone(_):
        try:
            old.is_enabled()
            return False
        except WebDriverException:
            return True
    WebDriverWait(drv, 20).until(gone)
    return user in text("header .who span")


def csp_errors():
    """Console messages about a blocked script or connection (CSP)."""
    try:
        return [m["message"] for m in drv.get_log("browser")
                if "Content Security Policy" in m["message"]]
    except WebDriverException:
        return []


def poll(cond, seconds):
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.25)
    return cond()


try:
    # --- a clerk watches the camera being pulled -------------------------
    check("clerk1 logs in", login("clerk1"))
    drv.get(BASE + "/dock")
    row = 'tr[data-serial="CAM-1"]'
    check("the dock page lists CAM-1 and its officer [%s]" % text(row),
          "CAM-1" in text(row) and "ofc-7" in text(row))
    first_bytes = text(row + " .bytes")
    first_asof = text("#asof")
    bar = drv.find_elements(By.CSS_SELECTOR, row + " progress")
    first_val = bar[0].get_attribute("value") if bar else None
    check("a progress bar and byte counts are there [%s]" % first_bytes,
          bar and "/" in first_bytes)
    # live: the script's EventSource brings status events every 2 s
    moved = poll(lambda: text("#live").startswith("Live") and
                 text("#asof") != first_asof and
                 (text(row + " .bytes") != first_bytes or
                  drv.find_element(By.CSS_SELECTOR, row + " progress")
                  .get_attribute("value") != first_val), 15)
    check("progress moves without a reload (SSE) [%s -> %s; %s]" %
          (first_bytes, text(row + " .bytes"), text("#live")), moved)
    check("recordings done / total shown [%s]" % text(row + " .done"),
          "/ 4" in text(row + " .done"))
    check("no CSP violation in the console %s" % csp_errors(), not csp_errors())
    scripts = [s.get_attribute("src") for s in drv.find_elements(By.TAG_NAME, "script")]
    check("one script, same origin, not inline %s" % scripts,
          scripts == [BASE + "/static/dock.js"])
    check("storage queue, free space and witnesses are shown",
          drv.find_elements(By.ID, "storage") and "free of" in text("#space") and
          (drv.find_elements(By.ID, "witnesses") or drv.find_elements(By.ID, "no-witnesses")))
    drv.set_window_size(1400, 1500)   # the whole page, witnesses included
    shot("10-dock-live")
    drv.set_window_size(1400, 1000)
    drv.get(BASE + "/alerts")
    check("a clerk gets no alerts page [%s]" % text("#message"),
          "role may not" in text("#message") and not drv.find_elements(By.ID, "alerts"))
    shot("11-alerts-refused-clerk")
    drv.get(BASE + "/witness")
    check("a clerk gets no witness page [%s]" % text("#message"),
          "role may not" in text("#message") and not drv.find_elements(By.ID, "witnesses"))

    # --- another agency's clerk: nothing of this dock ---------------------
    check("outsider (agency pd-other) logs in", login("outsider"))
    drv.get(BASE + "/dock")
    check("the other agency's clerk gets no dock page [%s]" % text("#message"),
          "not found in your agency" in text("#message") and
          not drv.find_elements(By.ID, "cameras"))

    # --- the auditor: alerts and witnesses --------------------------------
    check("aud1 logs in", login("aud1"))
    drv.get(BASE + "/alerts")
    rows = [r.text for r in drv.find_elements(By.CSS_SELECTOR, "#alerts tbody tr")]
    check("the auditor sees the refusals as alerts (%d rows)" % len(rows),
          any("access_denied" in r and "clerk1" in r for r in rows) and
          any("outsider" in r for r in rows))
    shot("12-alerts")

    def witnesses_known():
        drv.get(BASE + "/witness")
        cells = {}
        for tr in drv.find_elements(By.CSS_SELECTOR, "#witnesses tbody tr"):
            tds = [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            cells[tds[0]] = tds
        w1, w2 = cells.get("w1.test/witness"), cells.get("w2.test/witness")
        return (w1 and w1[2] not in ("-", "0") and w2 and w2[6] not in ("-", "0"))
    check("witness page: w1 cosigned a checkpoint, w2 (down) counts failures",
          poll(witnesses_known, 20))
    shot("13-witness")
    drv.get(BASE + "/dock")
    check("the auditor also sees the dock page", drv.find_elements(By.ID, "dock"))
finally:
    drv.quit()
