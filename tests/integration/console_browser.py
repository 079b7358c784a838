#!/usr/bin/python3
"""The web console in a real headless Chromium (tests/integration/console_browser.sh).

Prints one line per check, "PASS desc" / "FAIL desc", or "SKIP reason" when
Chromium cannot run here; the shell script turns them into TAP and then
checks the ledger. Arguments: BASE_URL OUTDIR SECRETS_FILE PASSWORDS_FILE.
"""
import base64, hashlib, hmac, json, os, ssl, struct, sys, time, urllib.parse, urllib.request

BASE, OUT, SECRETS, PASSWORDS = sys.argv[1:5]
secrets = dict(l.split() for l in open(SECRETS) if l.strip() and not l.startswith("#"))
passwords = dict(l.split(":")[:2] for l in open(PASSWORDS) if l.strip())
used_steps = {}


def check(desc, cond):
    print(("PASS " if cond else "FAIL ") + desc, flush=True)
    return cond


def totp(user, step_offset=0):
    """RFC 6238 written here from the RFC, not liboath: the test checks the
    console's second factor against an independent implementation. Each
    login of one user uses a new time step (the console refuses reuse)."""
    step = int(time.time() // 30) + step_offset
    step = max(step, used_steps.get(user, -1) + 1)
    used_steps[user] = step
    key = base64.b32decode(secrets[user])
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


try:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as e:
    print("SKIP python3-selenium is not installed (%s)" % e)
    sys.exit(0)

opts = webdriver.ChromeOptions()
for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
          "--disable-gpu", "--window-size=1280,1000"):
    opts.add_argument(a)
opts.binary_location = "/usr/bin/chromium"
opts.accept_insecure_certs = True      # the test's own self-signed certificate
try:
    from selenium.webdriver.chrome.service import Service
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


def login(user, password=None, code=None):
    drv.delete_all_cookies()
    drv.get(BASE + "/login")
    drv.find_element(By.ID, "user").send_keys(user)
    drv.find_element(By.ID, "password").send_keys(password if password is not None
                                                  else passwords.get(user, "x"))
    drv.find_element(By.ID, "otp").send_keys(code if code is not None else totp(user))
    click("login")


def click(button_id):
    """Submit and wait until the next page replaced this one (bounded)."""
    old = drv.find_element(By.ID, button_id)
    old.click()

    def gone(_):
        # stale, or (Chromium) "node does not belong to the document"
        try:
            old.is_enabled()
            return False
        except WebDriverException:
            return True
    WebDriverWait(drv, 20).until(gone)


def logged_in_as(user):
    return user in text("header .who span") and drv.current_url.startswith(BASE + "/search")


def no_script():
    return not drv.find_elements(By.TAG_NAME, "script")


try:
    # --- a clerk finds an officer's recordings of one day, prints the report
    login("clerk1")
    check("clerk1 logs in with PAM password + TOTP", logged_in_as("clerk1"))
    shot("01-search-form")
    drv.find_element(By.ID, "officer").send_keys("ofc-1")
    # date inputs take the browser's locale format; the query string is the
    # same as submitting the form
    drv.get(BASE + "/search?" + urllib.parse.urlencode({
        "officer": "ofc-1", "from": "2024-05-01", "to": "2024-05-01",
        "reason": "case 2024-118 review"}))
    ids = [a.text for a in drv.find_elements(By.CSS_SELECTOR, "#results tbody td:first-child a")]
    check("officer ofc-1 on 2024-05-01 (UTC): EV-1 and EV-X [%s]" % " ".join(ids),
          sorted(ids) == ["EV-1", "EV-X"])
    cams = [td.text for td in drv.find_elements(By.CSS_SELECTOR, "#results tbody td:nth-child(3)")]
    check("a hostile camera field is shown as text [%s]" % cams,
          "<script>alert(1)</script>" in cams)
    check("... and no script element exists on the page", no_script())
    shot("02-search-results")
    drv.find_element(By.LINK_TEXT, "EV-1").click()
    check("item page: EV-1 with its custody timeline",
          text("#item-id") == "EV-1" and "ingested" in text("#timeline"))
    check("item page: verification state shown", "verified" in text("#facts")
          or "stored" in text("#facts"))
    check("a clerk is offered no hold or destruction actions",
          not drv.find_elements(By.ID, "do-hold-set") and
          not drv.find_elements(By.ID, "do-destroy-request"))
    shot("03-item")
    # --- the item's inclusion proof: its state shown, the file downloaded
    drv.find_element(By.ID, "proof").click()
    check("proof page: EV-1's events proven against a checkpoint [%s]" % text("#proven"),
          text("#item-id") == "EV-1" and text("#proven").split(" of ")[0] not in ("", "0"))
    shot("03b-proof")
    href = drv.find_element(By.ID, "proof-download").get_attribute("href")
    ctx0 = ssl._create_unverified_context()
    rq = urllib.request.Request(href, headers={
        "Cookie": "__Host-dock=" + drv.get_cookie("__Host-dock")["value"]})
    r = urllib.request.urlopen(rq, context=ctx0)
    data = r.read()
    check("the proof downloads as a JSON attachment [%s]" % r.headers.get("Content-Disposition"),
          "attachment" in r.headers.get("Content-Disposition", "") and
          json.loads(data).get("evidence_id") == "EV-1")
    open(os.path.join(OUT, "proof-EV-1.json"), "wb").write(data)
    drv.back()
    drv.get(BASE + "/item?id=EV-1&reason=" + urllib.parse.quote("case 2024-118 review"))
    drv.find_element(By.ID, "report").click()
    check("the chain-of-custody report opens", "Chain-of-custody report" in text("h1"))
    shot("04-report")
    pdf = base64.b64decode(drv.print_page())
    open(os.path.join(OUT, "custody-report-EV-1.pdf"), "wb").write(pdf)
    check("print_page gives a PDF (%d bytes)" % len(pdf), pdf[:5] == b"%PDF-" and len(pdf) > 2000)

    # --- a forged CSRF token: the clerk's own session, a wrong token
    cookie = drv.get_cookie("__Host-dock")
    check("the session cookie is HttpOnly, Secure, SameSite=Strict",
          cookie and cookie.get("httpOnly") and cookie.get("secure")
          and cookie.get("sameSite") == "Strict")
    ctx = ssl._create_unverified_context()
    body = urllib.parse.urlencode({"csrf": "0" * 64, "id": "EV-1", "op": "case",
                                   "action": "assign", "case": "FORGED",
                                   "reason": "forged"}).encode()
    rq = urllib.request.Request(BASE + "/item", data=body, headers={
        "Cookie": "__Host-dock=" + cookie["value"]})
    try:
        urllib.request.urlopen(rq, context=ctx)
        status = 200
    except urllib.error.HTTPError as e:
        status = e.code
    check("a forged CSRF token gets 403 [%d]" % status, status == 403)

    # --- a cross-agency item id gets the same answer as a missing one
    drv.get(BASE + "/item?id=EV-B1&reason=curious")
    check("another agency's item: not found [%s]" % text("#message"),
          "not found in your agency" in text("#message"))
    shot("05-cross-agency")
    drv.get(BASE + "/item?id=NO-SUCH&reason=curious")
    check("... the same message as a missing item", "not found in your agency" in text("#message"))

    # --- supervisors: two-person destruction
    login("sup1")
    check("sup1 logs in", logged_in_as("sup1"))
    drv.get(BASE + "/item?id=EV-4&reason=retention review")

    def act(button_id, reason):
        form = drv.find_element(By.ID, button_id).find_element(By.XPATH, "./..")
        form.find_element(By.NAME, "reason").send_keys(reason)
        click(button_id)

    act("do-destroy-request", "retention passed")
    check("sup1 requests destruction of EV-4 [%s]" % text("#message"),
          text("#message").startswith("Done: destroy request"))
    act("do-destroy-approve", "approving my own")
    check("sup1 cannot approve their own request [%s]" % text("#message"),
          text("#message").startswith("Refused"))
    shot("06-own-approval-refused")
    login("sup2")
    drv.get(BASE + "/item?id=EV-4&reason=retention review")
    act("do-destroy-approve", "second person")
    check("sup2 approves sup1's request [%s]" % text("#message"),
          text("#message").startswith("Done: destroy approve"))
    check("... the timeline shows destruction_approved", "destruction_approved" in text("#timeline"))
    shot("07-approved")

    # --- strangers and wrong factors get nothing
    login("mallory", password="guess", code="123456")
    check("an unknown user is not logged in [%s]" % text("#message"),
          text("#message") == "Login failed." and not logged_in_as("mallory"))
    good = totp("clerk1")
    wrong = "%06d" % ((int(good) + 1) % 1000000)
    login("clerk1", code=wrong)
    check("a wrong second factor is refused [%s]" % text("#message"),
          text("#message") == "Login failed.")
    shot("08-login-failed")
    drv.get(BASE + "/search")
    check("... and the search page sends the browser to log in",
          drv.current_url.startswith(BASE + "/login"))
    login("gone1")      # second factor revoked (console_browser.sh)
    check("a user whose second factor was revoked cannot log in [%s]" % text("#message"),
          text("#message") == "Login failed." and not logged_in_as("gone1"))
    login("nomap")
    check("a PAM account that is no custody user gets nothing", not logged_in_as("nomap"))
    for i in range(3):
        login("victim", password="wrong-%d" % i)
    login("victim")
    check("after 3 failures the right password and code are refused (lockout) [%s]"
          % text("#message"), "too many failed attempts" in text("#message"))
    # --- an auditor sees the denials (and may not search evidence)
    login("aud1")
    check("aud1 logs in and lands on the access log",
          "aud1" in text("header .who span") and drv.current_url.startswith(BASE + "/audit"))
    drv.get(BASE + "/audit?" + urllib.parse.urlencode({"action": "console_",
                                                       "reason": "monthly audit"}))
    log = text("#events")
    check("the access log shows the forged CSRF refusal (console_refused, clerk1)",
          "console_refused" in log and "bad CSRF token" in log)
    check("... the unknown user's failed login with the name typed",
          "typed: mallory" in log)
    check("... and the lockout", "console_lockout" in log)
    check("... with no script element on the page", no_script())
    shot("09-audit-log")
    drv.get(BASE + "/search?officer=ofc-1&reason=curious")
    check("an auditor's evidence search is refused [%s]" % text("#message"),
          "role may not" in text("#message"))

    # a plain page fetch: the security headers
    r = urllib.request.urlopen(BASE + "/login", context=ctx)
    csp = r.headers.get("Content-Security-Policy", "")
    check("CSP forbids scripts (default-src 'none', no script-src) [%s]" % csp,
          "default-src 'none'" in csp and "script-src" not in csp)
    check("HSTS is sent", "max-age" in r.headers.get("Strict-Transport-Security", ""))
finally:
    drv.quit()
