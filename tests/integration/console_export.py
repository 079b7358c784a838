#!/usr/bin/python3
"""Court-package export from the web console in a real headless Chromium
(tests/integration/console_export.sh checks the ledger and the package).

Prints "PASS desc" / "FAIL desc" per check, or "SKIP reason" when Chromium
cannot run. Arguments: BASE_URL OUTDIR SECRETS_FILE PASSWORDS_FILE; the
browser saves downloads to OUTDIR/dl.
"""
import base64, hashlib, hmac, os, ssl, struct, sys, time, urllib.parse, urllib.request

BASE, OUT, SECRETS, PASSWORDS = sys.argv[1:5]
DL = os.path.join(OUT, "dl")
secrets = dict(l.split() for l in open(SECRETS) if l.strip() and not l.startswith("#"))
passwords = dict(l.split(":")[:2] for l in open(PASSWORDS) if l.strip())


def check(desc, cond):
    print(("PASS " if cond else "FAIL ") + desc, flush=True)
    return cond


def totp(user):
    """RFC 6238 from the RFC (HMAC-SHA1, 30 s, 6 digits)."""
    key = base64.b32decode(secrets[user])
    mac = hmac.new(key, struct.pack(">Q", int(time.time() // 30)), hashlib.sha1).digest()
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
          "--disable-gpu", "--window-size=1280,1000"):
    opts.add_argument(a)
opts.binary_location = "/usr/bin/chromium"
opts.accept_insecure_certs = True
opts.add_experimental_option("prefs", {"download.default_directory": DL,
                                       "download.prompt_for_download": False})
try:
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
except WebDriverException as e:
    print("SKIP chromium cannot start here: %s" % str(e).splitlines()[0])
    sys.exit(0)
drv.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": DL})


def text(sel):
    els = drv.find_elements(By.CSS_SELECTOR, sel)
    return els[0].text if els else ""


def click(button_id):
    old = drv.find_element(By.ID, button_id)
    old.click()

    def gone(_):
        try:
            old.is_enabled()
            return False
        except WebDriverException:
            return True
    WebDriverWait(drv, 60).until(gone)


def export(item, reason, case=None):
    drv.get(BASE + "/item?" + urllib.parse.urlencode({"id": item, "reason": "export"}))
    form = drv.find_element(By.CSS_SELECTOR, "form[action='/export']")
    if case:
        form.find_element(By.NAME, "case").send_keys(case)
    form.find_element(By.NAME, "reason").send_keys(reason)


def wait_file(name, seconds=60):
    """Bounded polling: Chromium writes NAME.crdownload, then renames."""
    path = os.path.join(DL, name)
    for _ in range(seconds * 10):
        if os.path.exists(path) and not any(f.endswith(".crdownload") for f in os.listdir(DL)):
            return path
        time.sleep(0.1)
    return None


try:
    drv.get(BASE + "/login")
    drv.find_element(By.ID, "user").send_keys("clerk1")
    drv.find_element(By.ID, "password").send_keys(passwords["clerk1"])
    drv.find_element(By.ID, "otp").send_keys(totp("clerk1"))
    click("login")
    check("clerk1 logs in", "clerk1" in text("header .who span"))

    # --- the export: the form on the item page, the download in the browser
    export("CAM-1/REC-1", "court order 7")
    check("the item page has the export form", bool(drv.find_elements(By.ID, "do-export")))
    drv.save_screenshot(os.path.join(OUT, "01-item-export-form.png"))
    drv.find_element(By.ID, "do-export").click()    # a download: the page stays
    got = wait_file("court-CAM-1_REC-1.tar")
    check("Chromium downloaded court-CAM-1_REC-1.tar (%s bytes)" %
          (os.path.getsize(got) if got else "no"), got is not None)

    # --- a forged CSRF token on the export form: 403, nothing made
    cookie = drv.get_cookie("__Host-dock")
    ctx = ssl._create_unverified_context()
    body = urllib.parse.urlencode({"csrf": "0" * 64, "id": "CAM-1/REC-1",
                                   "reason": "forged"}).encode()
    rq = urllib.request.Request(BASE + "/export", data=body, headers={
        "Cookie": "__Host-dock=" + cookie["value"]})
    try:
        r = urllib.request.urlopen(rq, context=ctx)
        status, ctype = r.status, r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        status, ctype = e.code, e.headers.get("Content-Type", "")
    check("a forged CSRF token on /export gets 403 and a page, not a tar [%d %s]" %
          (status, ctype), status == 403 and ctype.startswith("text/html"))

    # --- a damaged vault copy: a clear page, no download
    export("CAM-1/REC-2", "court order 8")
    click("do-export")
    msg = text("main") or drv.page_source
    check("the damaged copy: an 'Export failed' page saying why [%s]" %
          " ".join(msg.split())[:160],
          "Export failed" in drv.page_source and "CAM-1/REC-2" in msg)
    drv.save_screenshot(os.path.join(OUT, "02-export-failed.png"))

    # --- an auditor has no export form; posting one (with the right token)
    # is refused by the service
    drv.delete_all_cookies()
    drv.get(BASE + "/login")
    drv.find_element(By.ID, "user").send_keys("aud1")
    drv.find_element(By.ID, "password").send_keys(passwords["aud1"])
    drv.find_element(By.ID, "otp").send_keys(totp("aud1"))
    click("login")
    check("aud1 logs in", "aud1" in text("header .who span"))
    csrf = drv.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")
    cookie = drv.get_cookie("__Host-dock")
    body = urllib.parse.urlencode({"csrf": csrf, "id": "CAM-1/REC-1",
                                   "reason": "curious"}).encode()
    rq = urllib.request.Request(BASE + "/export", data=body, headers={
        "Cookie": "__Host-dock=" + cookie["value"]})
    try:
        r = urllib.request.urlopen(rq, context=ctx)
        status, page = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, page = e.code, e.read().decode()
    check("the auditor's export is refused by the service: 403 [%d]" % status,
          status == 403 and "Export failed" in page and "refused" in page)
finally:
    drv.quit()
