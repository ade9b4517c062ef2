"""Login request shapes for the differential tests: the many ways one login can be written that an
app and a gateway might read differently. Each shape is sent once straight to the app and once
through the gateway (see differential.py).

Dimensions, each enumerated on its own against the plain login, then mixed at random (fixed
seed, so a run is reproducible):
- path spellings: every letter, digit, `-`, `_` and `.` of the login path percent-encoded, case,
  `;params`, trailing slash, PATH_INFO, query strings;
- field spellings and encodings: repeated fields, `name[]`, `user.name`-style names,
  percent-encoded names, leading spaces and NULs (PHP drops them), `+` vs `%20`, separators;
- content types: urlencoded with charsets (utf-8, latin-1, utf-7, utf-16, EBCDIC), multipart
  with browser, curl and odd boundaries and their quirks (duplicate boundary, preamble,
  epilogue, Content-Transfer-Encoding, `name*=`, `_charset_`, LF-only lines, file parts), JSON
  (duplicate keys, escapes, non-string names, other encodings), and each under the other's type;
- user names in Unicode: fullwidth, compatibility letters, combining marks, case, and every
  kind of surrounding whitespace and control character (`\\x1c`-`\\x1f`, NBSP, NEL, ...).
"""
import base64
import json
import random
import urllib.parse
from dataclasses import dataclass, field

PASSWORD = "correct horse battery staple"
P_PLUS = urllib.parse.quote_plus(PASSWORD)
P_PCT = urllib.parse.quote(PASSWORD)

FORM = "application/x-www-form-urlencoded"


@dataclass
class Target:
    """What one app's login looks like."""
    name: str                 # a label for reports
    login_path: str           # the path the gateway's rule names
    field: str                # the user name field (form) or key (JSON)
    kind: str                 # "form" or "json"
    casefold: bool = False    # the app ignores case in user names
    extra_paths: list = field(default_factory=list)  # more spellings worth trying


@dataclass
class Shape:
    label: str                # how it was made, e.g. "path:/admin/%6Cogin/ | form:dup bob,alice"
    target: str               # request target (path and query), sent as it is
    headers: list             # (name, value) pairs, in order
    body: bytes
    user: str                 # the user name the body carries (for the report)


# ---------------------------------------------------------------------------------------------
# Paths

UNRESERVED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")


def path_spellings(t: Target, rng: random.Random):
    p = t.login_path
    out = [("plain", p)]
    for i, ch in enumerate(p):
        if ch in UNRESERVED:
            hexed = "%{:02X}".format(ord(ch))
            if rng.random() < 0.3:
                hexed = hexed.lower()
            out.append((f"encoded {ch!r}@{i}", p[:i] + hexed + p[i + 1:]))
    segments = [s for s in p.split("/") if s]
    out.append(("first segment all encoded",
                "/" + "".join("%{:02X}".format(ord(c)) for c in segments[0]) + p[len(segments[0]) + 1:]))
    out.append(("upper case", p.upper()))
    out.append(("title case", "/".join(s[:1].upper() + s[1:] for s in p.split("/"))))
    out.append(("last segment upper", p[: p.rstrip("/").rfind("/") + 1] + segments[-1].upper()
                + ("/" if p.endswith("/") else "")))
    if p.endswith("/"):
        out.append(("no trailing slash", p.rstrip("/")))
        out.append(("double trailing slash", p + "/"))
    else:
        out.append(("trailing slash", p + "/"))
    for i in range(len(segments)):
        spelled = "/" + "/".join(s + (";x=1" if j == i else "") for j, s in enumerate(segments))
        out.append((f";param on segment {i}", spelled + ("/" if p.endswith("/") else "")))
    out.append((";jsessionid at the end", p + ";jsessionid=0123ABCD"))
    out.append(("PATH_INFO below", p.rstrip("/") + "/x"))
    out.append(("query next", p + "?next=/"))
    out.append((f"query {t.field}=bob", p + f"?{t.field}=bob"))
    out.append(("dot segment", "/." + p))
    out.append(("encoded slash", p.replace("/", "%2F", 2).replace("%2F", "/", 1)))
    out.append(("overlong", p.replace(segments[0], segments[0] + "/..", 1) + "/../" + p.lstrip("/")))
    for extra in t.extra_paths:
        out.append((f"extra {extra}", extra))
    return out


# ---------------------------------------------------------------------------------------------
# User names

WHITESPACE = {
    "space": " ", "tab": "\t", "LF": "\n", "CR": "\r", "VT": "\x0b", "FF": "\x0c",
    "x1c": "\x1c", "x1d": "\x1d", "x1e": "\x1e", "x1f": "\x1f", "NEL": "\x85",
    "NBSP": "\xa0", "ogham": "\u1680", "en quad": "\u2000", "figure space": "\u2007",
    "line sep": "\u2028", "ideographic": "\u3000", "ZWSP": "\u200b", "BOM": "\ufeff",
    "NUL": "\x00", "mongolian vs": "\u180e",
}


def name_variants():
    out = [
        ("plain", "alice"),
        ("fullwidth", "ａｌｉｃｅ"),
        ("fullwidth first letter", "ａlice"),
        ("fullwidth upper", "ＡＬＩＣＥ"),
        ("title case", "Alice"),
        ("upper case", "ALICE"),
        ("script l", "aℓice"),
        ("modifier a", "ᵃlice"),
        ("circled", "ⓐⓛⓘⓒⓔ"),
        ("math bold", "𝐚𝐥𝐢𝐜𝐞"),
        ("combining acute", "alice\u0301"),
        ("dotless i", "al\u0131ce"),
        ("dotted capital I", "AL\u0130CE"),
        ("fullwidth + space", " ａｌｉｃｅ "),
        ("bob fullwidth", "ｂｏｂ"),
        ("bob modifiers", "ᵇᵒᵇ"),
        ("bob title", "Bob"),
    ]
    for label, ch in WHITESPACE.items():
        out.append((f"{label} before", ch + "alice"))
        out.append((f"{label} after", "alice" + ch))
    return out


# ---------------------------------------------------------------------------------------------
# Bodies: each builder takes the user name and gives (headers, body)

def q(s):
    return urllib.parse.quote_plus(s.encode("utf-8"))


def q20(s):
    return urllib.parse.quote(s.encode("utf-8"), safe="")


def pct_all(s):
    return "".join("%{:02X}".format(b) for b in s.encode("utf-8"))


def form(body, ct=FORM, extra=()):
    if isinstance(body, str):
        body = body.encode("utf-8")
    return [("Content-Type", ct), *extra], body


def form_builders(t: Target):
    f = t.field
    b = []

    def add(label, fn):
        b.append((label, fn))

    add("form plain", lambda u: form(f"{f}={q(u)}&password={P_PLUS}"))
    add("form %20 spaces", lambda u: form(f"{f}={q20(u)}&password={P_PCT}"))
    add("form password first", lambda u: form(f"password={P_PLUS}&{f}={q(u)}"))
    add("form value all encoded", lambda u: form(f"{f}={pct_all(u)}&password={P_PLUS}"))
    add("form value lower hex", lambda u: form(f"{f}={pct_all(u).lower()}&password={P_PLUS}"))
    add("form value raw utf-8", lambda u: form(f"{f}={u}&password={P_PLUS}"))
    add("form dup bob,u", lambda u: form(f"{f}=bob&{f}={q(u)}&password={P_PLUS}"))
    add("form dup u,bob", lambda u: form(f"{f}={q(u)}&{f}=bob&password={P_PLUS}"))
    add("form dup u,u", lambda u: form(f"{f}={q(u)}&{f}={q(u)}&password={P_PLUS}"))
    add("form dup empty,u", lambda u: form(f"{f}=&{f}={q(u)}&password={P_PLUS}"))
    add("form dup u,empty", lambda u: form(f"{f}={q(u)}&{f}=&password={P_PLUS}"))
    add("form name[]", lambda u: form(f"{f}[]={q(u)}&password={P_PLUS}"))
    add("form name[] then bob", lambda u: form(f"{f}[]={q(u)}&{f}=bob&password={P_PLUS}"))
    add("form bob then name[]", lambda u: form(f"{f}=bob&{f}[]={q(u)}&password={P_PLUS}"))
    add("form name%5B%5D", lambda u: form(f"{f}%5B%5D={q(u)}&password={P_PLUS}"))
    add("form name[0]", lambda u: form(f"{f}[0]={q(u)}&password={P_PLUS}"))
    add("form name[x] then bob", lambda u: form(f"{f}=bob&{f}[x]={q(u)}&password={P_PLUS}"))
    for i, ch in enumerate(f):
        add(f"form name {ch!r} encoded", lambda u, i=i, ch=ch: form(
            f"{f[:i]}%{ord(ch):02X}{f[i + 1:]}={q(u)}&password={P_PLUS}"))
    add("form name all encoded", lambda u: form(f"{pct_all(f)}={q(u)}&password={P_PLUS}"))
    add("form encoded name dup bob", lambda u: form(
        f"{f}=bob&{f[:-1]}%{ord(f[-1]):02X}={q(u)}&password={P_PLUS}"))
    add("form name upper", lambda u: form(f"{f.upper()}={q(u)}&password={P_PLUS}"))
    add("form name title + bob", lambda u: form(f"{f}=bob&{f.title()}={q(u)}&password={P_PLUS}"))
    mid = len(f) // 2
    for sep_label, sep in (("dot", "."), ("underscore", "_"), ("space", "+"), ("%20", "%20")):
        add(f"form name split by {sep_label}", lambda u, sep=sep: form(
            f"{f[:mid]}{sep}{f[mid:]}={q(u)}&password={P_PLUS}"))
    add("form name leading space", lambda u: form(f"+{f}={q(u)}&password={P_PLUS}"))
    add("form name leading %20 dup bob", lambda u: form(f"{f}=bob&%20{f}={q(u)}&password={P_PLUS}"))
    add("form name leading + dup bob", lambda u: form(f"{f}=bob&+{f}={q(u)}&password={P_PLUS}"))
    add("form name trailing space", lambda u: form(f"{f}+={q(u)}&password={P_PLUS}"))
    add("form name trailing NUL dup bob", lambda u: form(f"{f}=bob&{f}%00={q(u)}&password={P_PLUS}"))
    add("form name NUL suffix dup bob", lambda u: form(f"{f}=bob&{f}%00x={q(u)}&password={P_PLUS}"))
    add("form name with dot suffix", lambda u: form(f"{f}.={q(u)}&password={P_PLUS}"))
    add("form ; separator", lambda u: form(f"{f}=bob;{f}={q(u)}&password={P_PLUS}"))
    add("form ; only", lambda u: form(f"{f}={q(u)};password={P_PLUS}"))
    add("form && and leading &", lambda u: form(f"&{f}={q(u)}&&password={P_PLUS}&"))
    add("form bare name first", lambda u: form(f"{f}&{f}={q(u)}&password={P_PLUS}"))
    add("form value with =", lambda u: form(f"{f}={q(u)}=x&password={P_PLUS}"))
    add("form bad escape", lambda u: form(f"{f}=%zz{q(u)}&password={P_PLUS}"))
    add("form invalid utf-8", lambda u: form(f"{f}={q(u)}%E0&password={P_PLUS}"))
    add("form dup password", lambda u: form(f"{f}={q(u)}&password=wrong&password={P_PLUS}"))
    # Charsets: the app decodes the body in the declared charset.
    for cs in ("utf-8", "UTF-8", '"utf-8"', "utf8"):
        add(f"form charset={cs}", lambda u, cs=cs: form(
            f"{f}={q(u)}&password={P_PLUS}", ct=f"{FORM}; charset={cs}"))
    add("form type upper case", lambda u: form(f"{f}={q(u)}&password={P_PLUS}",
                                                ct="Application/X-WWW-Form-URLEncoded"))
    add("form type spaces", lambda u: form(f"{f}={q(u)}&password={P_PLUS}", ct=f" {FORM} ;charset=utf-8"))
    add("form charset=latin-1", lambda u: form(
        f"{f}={urllib.parse.quote_plus(u.encode('latin-1', 'replace'))}&password={P_PLUS}",
        ct=f"{FORM}; charset=latin-1"))
    add("form charset=iso-8859-1 raw é", lambda u: form(
        f"{f}={u}\xe9&password={P_PLUS}".encode("latin-1", "replace"), ct=f"{FORM}; charset=iso-8859-1"))
    add("form charset=utf-16", lambda u: form(
        f"{f}={q(u)}&password={P_PLUS}".encode("utf-16"), ct=f"{FORM}; charset=utf-16"))
    add("form charset=utf-7 +AGE-", lambda u: form(
        f"{f}=+AGE-{q20(u[1:])}&password={P_PCT}", ct=f"{FORM}; charset=utf-7"))
    add("form charset=utf-7 hidden &", lambda u: form(
        f"{f}=bob+ACY-{f}={q20(u)}&password={P_PCT}", ct=f"{FORM}; charset=utf-7"))
    add("form charset=cp037", lambda u: form(
        f"{f}={q20(u)}&password={P_PCT}".encode("cp037", "replace"), ct=f"{FORM}; charset=cp037"))
    add("form charset twice", lambda u: form(
        f"{f}={q(u)}&password={P_PLUS}", ct=f"{FORM}; charset=utf-8; charset=utf-16"))
    add("form no content type", lambda u: ([], f"{f}={q(u)}&password={P_PLUS}".encode()))
    add("form as text/plain", lambda u: form(f"{f}={q(u)}&password={P_PLUS}", ct="text/plain"))
    add("form as application/json", lambda u: form(f"{f}={q(u)}&password={P_PLUS}", ct="application/json"))
    add("form two content types form,json", lambda u: (
        [("Content-Type", FORM), ("Content-Type", "application/json")],
        f"{f}={q(u)}&password={P_PLUS}".encode()))
    add("form two content types json,form", lambda u: (
        [("Content-Type", "application/json"), ("Content-Type", FORM)],
        f"{f}={q(u)}&password={P_PLUS}".encode()))
    add("json body under form type", lambda u: form(
        json.dumps({f: u, "password": PASSWORD}), ct=FORM))
    add("json body with form pair under form type", lambda u: form(
        '{"%s": "bob", "x": "&%s=%s&password=%s"}' % (f, f, q(u), P_PLUS), ct=FORM))
    return b


# Multipart

CHROME = "----WebKitFormBoundaryq3RkX9aZ7bVn2LcD"
FIREFOX = "----geckoformboundary6c1f3a9e0b2d4f5a8c7e9d1b3a5f7c9e"
CURL = "------------------------c0ffee4b1d2e3f40"
ODD = {
    "chrome": CHROME,
    "firefox": FIREFOX,
    "curl": CURL,
    "short": "x",
    "digits": "0123456789",
    "mime-ish": "=_Part_0_1234.5678",
    "with space (quoted)": "a b c",
    "with quote chars": "'q'",
    "punctuation": "b/o:u?n=d+(x),",
    "70 chars": "B" * 70,
    "leading dashes": "--x--",
}


def multipart(parts, boundary, *, nl="\r\n", preamble="", epilogue="", close=True):
    """parts: (header lines, value bytes or str)."""
    out = preamble.encode()
    for headers, value in parts:
        if isinstance(value, str):
            value = value.encode("utf-8")
        out += f"--{boundary}{nl}".encode()
        for h in headers:
            out += f"{h}{nl}".encode("utf-8")
        out += nl.encode() + value + nl.encode()
    if close:
        out += f"--{boundary}--{nl}".encode()
    return out + epilogue.encode()


def cd(name, extra=""):
    return f'Content-Disposition: form-data; name="{name}"{extra}'


def mp(t, u, boundary=CHROME, ct=None, user_part=None, before=(), after=(), **kw):
    f = t.field
    user_part = user_part or ([cd(f)], u)
    parts = [*before, user_part, *after, ([cd("password")], PASSWORD)]
    ctype = ct or f"multipart/form-data; boundary={boundary}"
    return [("Content-Type", ctype)], multipart(parts, boundary, **kw)


def multipart_builders(t: Target):
    f = t.field
    b = []

    def add(label, fn):
        b.append((label, fn))

    for label, boundary in ODD.items():
        quoted = " " in boundary or "'" in boundary or "/" in boundary or "=" in boundary
        ct = f'multipart/form-data; boundary="{boundary}"' if quoted else None
        add(f"multipart {label} boundary", lambda u, bd=boundary, ct=ct: mp(t, u, bd, ct=ct))
    add("multipart boundary quoted", lambda u: mp(t, u, ct=f'multipart/form-data; boundary="{CHROME}"'))
    add("multipart type upper case", lambda u: mp(t, u, ct=f"Multipart/Form-Data; BOUNDARY={CHROME}"))
    add("multipart boundary spaced =", lambda u: mp(t, u, ct=f"multipart/form-data; boundary = {CHROME}"))
    add("multipart charset param", lambda u: mp(t, u, ct=f"multipart/form-data; charset=utf-8; boundary={CHROME}"))
    add("multipart charset=utf-16 param", lambda u: mp(
        t, u, ct=f"multipart/form-data; charset=utf-16; boundary={CHROME}"))

    # Two boundary parameters: the body is written with one of them and carries two names.
    def double(u, first_used):
        a, c = "AaAaAaAa", "CcCcCcCc"
        used, other = (a, c) if first_used else (c, a)
        inner = multipart([([cd(f)], u), ([cd("password")], PASSWORD)], used)
        decoy = multipart([([cd(f)], "bob"), ([cd("password")], PASSWORD)], other)
        return ([("Content-Type", f"multipart/form-data; boundary={a}; boundary={c}")],
                decoy + inner if not first_used else inner + decoy)
    add("multipart double boundary, first used", lambda u: double(u, True))
    add("multipart double boundary, second used", lambda u: double(u, False))
    add("multipart double boundary same body", lambda u: mp(
        t, u, ct=f"multipart/form-data; boundary={CHROME}; boundary={CHROME}"))
    add("multipart no boundary", lambda u: mp(t, u, ct="multipart/form-data"))

    add("multipart name unquoted", lambda u: mp(t, u, user_part=(
        [f"Content-Disposition: form-data; name={f}"], u)))
    add("multipart name single-quoted", lambda u: mp(t, u, user_part=(
        [f"Content-Disposition: form-data; name='{f}'"], u)))
    add("multipart NAME upper", lambda u: mp(t, u, user_part=(
        [f'Content-Disposition: form-data; NAME="{f}"'], u)))
    add("multipart header case", lambda u: mp(t, u, user_part=(
        [f'content-disposition: FORM-DATA; name="{f}"'], u)))
    add("multipart name escaped quote", lambda u: mp(t, u, user_part=(
        [f'Content-Disposition: form-data; name="{f}\\""'], u)))
    add("multipart name param twice", lambda u: mp(t, u, user_part=(
        [f'Content-Disposition: form-data; name="other"; name="{f}"'], u)))
    add("multipart name param twice reversed", lambda u: mp(t, u, user_part=(
        [f'Content-Disposition: form-data; name="{f}"; name="other"'], u)))
    add("multipart name* only", lambda u: mp(t, u, user_part=(
        [f"Content-Disposition: form-data; name*=UTF-8''{f}"], u)))
    add("multipart name* over bob", lambda u: mp(t, u, user_part=(
        [f"Content-Disposition: form-data; name=\"{f}\"; name*=UTF-8''{f}"], u),
        before=[([cd(f)], "bob")]))
    add("multipart name* encoded", lambda u: mp(t, u, user_part=(
        [f"Content-Disposition: form-data; name*=UTF-8''{pct_all(f)}"], u)))
    add("multipart filename part", lambda u: mp(t, u, user_part=([cd(f, '; filename="x.txt"')], u)))
    add("multipart empty filename part", lambda u: mp(t, u, user_part=([cd(f, '; filename=""')], u)))
    add("multipart file part then bob", lambda u: mp(t, "bob", before=[([cd(f, '; filename="a"')], u)]))
    add("multipart dup bob,u", lambda u: mp(t, u, before=[([cd(f)], "bob")]))
    add("multipart dup u,bob", lambda u: mp(t, u, after=[([cd(f)], "bob")]))
    add("multipart name[]", lambda u: mp(t, u, user_part=([cd(f + "[]")], u)))
    add("multipart part content-type text/plain", lambda u: mp(t, u, user_part=(
        [cd(f), "Content-Type: text/plain"], u)))
    add("multipart part charset=utf-16", lambda u: mp(t, u, user_part=(
        [cd(f), "Content-Type: text/plain; charset=utf-16"], u.encode("utf-16"))))
    add("multipart part charset=latin-1", lambda u: mp(t, u, user_part=(
        [cd(f), "Content-Type: text/plain; charset=iso-8859-1"], u.encode("latin-1", "replace"))))
    add("multipart CTE base64", lambda u: mp(t, u, user_part=(
        [cd(f), "Content-Transfer-Encoding: base64"], base64.b64encode(u.encode()).decode())))
    add("multipart CTE base64 decoy", lambda u: mp(t, u, user_part=(
        [cd(f), "Content-Transfer-Encoding: base64"], base64.b64encode(b"bob").decode() + "")))
    add("multipart CTE quoted-printable", lambda u: mp(t, u, user_part=(
        [cd(f), "Content-Transfer-Encoding: quoted-printable"],
        "".join("=%02X" % c for c in u.encode()))))
    add("multipart _charset_ utf-16", lambda u: mp(t, u, user_part=([cd(f)], u.encode("utf-16")),
                                                   before=[([cd("_charset_")], "utf-16")]))
    add("multipart _charset_ utf-8", lambda u: mp(t, u, before=[([cd("_charset_")], "utf-8")]))
    add("multipart preamble", lambda u: mp(t, u, preamble="This is a preamble.\r\n"))
    add("multipart preamble with a fake part", lambda u: mp(
        t, u, preamble=f"--{CHROME}x\r\n{cd(f)}\r\n\r\nbob\r\n"))
    add("multipart epilogue", lambda u: mp(t, u, epilogue="trailing words\r\n"))
    add("multipart epilogue with a part", lambda u: mp(
        t, "bob", epilogue=f"--{CHROME}\r\n{cd(f)}\r\n\r\n{u}\r\n--{CHROME}--\r\n"))
    add("multipart LF only", lambda u: mp(t, u, nl="\n"))
    add("multipart no closing delimiter", lambda u: mp(t, u, close=False))
    add("multipart transport padding", lambda u: ([("Content-Type", f"multipart/form-data; boundary={CHROME}")],
                                                  multipart([([cd(f)], u), ([cd("password")], PASSWORD)], CHROME)
                                                  .replace(f"--{CHROME}\r\n".encode(), f"--{CHROME}  \t\r\n".encode())))
    add("multipart folded header", lambda u: mp(t, u, user_part=(
        ["Content-Disposition: form-data;\r\n name=\"%s\"" % f], u)))
    add("multipart boundary case differs", lambda u: (
        [("Content-Type", f"multipart/form-data; boundary={CHROME.lower()}")],
        multipart([([cd(f)], u), ([cd("password")], PASSWORD)], CHROME)))
    add("multipart value with CRLF", lambda u: mp(t, u, user_part=([cd(f)], u + "\r\n")))
    add("multipart as form type", lambda u: ([("Content-Type", FORM)],
                                             mp(t, u)[1]))
    return b


# JSON

JSON = "application/json"


def js(obj_or_text, ct=JSON, encoding="utf-8"):
    text = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text, ensure_ascii=False)
    return [("Content-Type", ct)] if ct else [], text.encode(encoding)


def json_builders(t: Target):
    f = t.field
    b = []

    def add(label, fn):
        b.append((label, fn))

    add("json plain", lambda u: js({f: u, "password": PASSWORD}))
    add("json ascii escapes", lambda u: js(json.dumps({f: u, "password": PASSWORD})))
    add("json key escaped", lambda u: js('{"%s": %s, "password": %s}' % (
        "".join("\\u%04x" % ord(c) for c in f), json.dumps(u), json.dumps(PASSWORD))))
    add("json value escaped", lambda u: js('{"%s": "%s", "password": %s}' % (
        f, "".join("\\u%04x" % ord(c) if ord(c) < 0x10000 else c for c in u), json.dumps(PASSWORD))))
    add("json dup keys bob,u", lambda u: js('{"%s": "bob", "%s": %s, "password": %s}' % (
        f, f, json.dumps(u), json.dumps(PASSWORD))))
    add("json dup keys u,bob", lambda u: js('{"%s": %s, "%s": "bob", "password": %s}' % (
        f, json.dumps(u), f, json.dumps(PASSWORD))))
    add("json dup key escaped", lambda u: js('{"%s": "bob", "%s": %s, "password": %s}' % (
        f, "\\u%04x" % ord(f[0]) + f[1:], json.dumps(u), json.dumps(PASSWORD))))
    add("json name as number", lambda u: js({f: 12345, "password": PASSWORD}))
    add("json name as list", lambda u: js({f: [u], "password": PASSWORD}))
    add("json name as object", lambda u: js({f: {"name": u}, "password": PASSWORD}))
    add("json name true", lambda u: js({f: True, "password": PASSWORD}))
    add("json name null", lambda u: js({f: None, "password": PASSWORD}))
    add("json key upper", lambda u: js({f.upper(): u, "password": PASSWORD}))
    add("json key with space", lambda u: js({f + " ": u, f: "bob", "password": PASSWORD}))
    add("json top-level array", lambda u: js([{f: u, "password": PASSWORD}]))
    add("json trailing garbage", lambda u: js(json.dumps({f: u, "password": PASSWORD}) + "x"))
    add("json two documents", lambda u: js(json.dumps({f: "bob", "password": PASSWORD})
                                           + json.dumps({f: u, "password": PASSWORD})))
    add("json whitespace", lambda u: js('\r\n\t {\n "%s" :\t%s ,"password":%s}\n' % (
        f, json.dumps(u), json.dumps(PASSWORD))))
    add("json utf-8 BOM", lambda u: ([("Content-Type", JSON)],
                                     b"\xef\xbb\xbf" + json.dumps({f: u, "password": PASSWORD}).encode()))
    add("json utf-16 with charset", lambda u: js({f: u, "password": PASSWORD},
                                                  ct=f"{JSON}; charset=utf-16", encoding="utf-16"))
    add("json utf-16 without charset", lambda u: js({f: u, "password": PASSWORD}, encoding="utf-16"))
    add("json utf-32 with charset", lambda u: js({f: u, "password": PASSWORD},
                                                  ct=f"{JSON}; charset=utf-32", encoding="utf-32"))
    add("json latin-1 charset", lambda u: js({f: u, "password": PASSWORD},
                                              ct=f"{JSON}; charset=latin-1"))
    add("json charset=utf-8", lambda u: js({f: u, "password": PASSWORD}, ct=f"{JSON}; charset=utf-8"))
    add("json type upper case", lambda u: js({f: u, "password": PASSWORD}, ct="APPLICATION/JSON"))
    add("json as text/json", lambda u: js({f: u, "password": PASSWORD}, ct="text/json"))
    add("json as vnd+json", lambda u: js({f: u, "password": PASSWORD}, ct="application/vnd.api+json"))
    add("json as text/plain", lambda u: js({f: u, "password": PASSWORD}, ct="text/plain"))
    add("json no content type", lambda u: js({f: u, "password": PASSWORD}, ct=None))
    add("json under form type", lambda u: js({f: u, "password": PASSWORD}, ct=FORM))
    add("json two content types json,form", lambda u: (
        [("Content-Type", JSON), ("Content-Type", FORM)],
        json.dumps({f: u, "password": PASSWORD}).encode()))
    add("json NaN", lambda u: js('{"%s": %s, "password": %s, "x": NaN}' % (
        f, json.dumps(u), json.dumps(PASSWORD))))
    add("json deep nesting", lambda u: js('{"%s": %s, "password": %s, "x": %s}' % (
        f, json.dumps(u), json.dumps(PASSWORD), "[" * 200 + "]" * 200)))
    add("json lone surrogate", lambda u: js('{"%s": "%s\\ud800", "password": %s}' % (
        f, u, json.dumps(PASSWORD))))
    add("json NUL in name", lambda u: js('{"%s": "%s\\u0000", "password": %s}' % (
        f, u, json.dumps(PASSWORD))))
    # The same login as a form: a JSON login rule must not take these by their looks.
    add("form body under json rule", lambda u: form(f"{f}={q(u)}&password={P_PLUS}"))
    add("form body under json type", lambda u: form(f"{f}={q(u)}&password={P_PLUS}", ct=JSON))
    add("multipart body under json rule", lambda u: mp(t, u))
    return b


def body_builders(t: Target):
    if t.kind == "json":
        return json_builders(t)
    return form_builders(t) + multipart_builders(t) + [
        ("json body to a form login", lambda u: js({t.field: u, "password": PASSWORD})),
    ]


# ---------------------------------------------------------------------------------------------


def generate(t: Target, seed=20261130, mixed=120):
    """Every dimension against the plain login, then `mixed` random combinations."""
    rng = random.Random(seed)
    paths = path_spellings(t, rng)
    builders = body_builders(t)
    names = name_variants()
    shapes = []

    def make(path_label, path, builder_label, builder, name_label, name):
        headers, body = builder(name)
        label = " | ".join(x for x in (
            f"path:{path_label}" if path_label != "plain" else "",
            builder_label,
            f"name:{name_label}" if name_label != "plain" else "") if x)
        shapes.append(Shape(label, path, list(headers), body, name))

    plain_builder = builders[0]
    for label, path in paths:
        make(label, path, *plain_builder, "plain", "alice")
    for label, fn in builders[1:]:
        make("plain", t.login_path, label, fn, "plain", "alice")
    for label, name in names[1:]:
        make("plain", t.login_path, *plain_builder, label, name)
    # Names through other encodings too (JSON escapes, multipart raw bytes, %20).
    for builder in builders[1:6]:
        for label, name in rng.sample(names[1:], 6):
            make("plain", t.login_path, *builder, label, name)
    for _ in range(mixed):
        pl, path = paths[0] if rng.random() < 0.5 else rng.choice(paths)
        bl, fn = rng.choice(builders)
        nl, name = names[0] if rng.random() < 0.4 else rng.choice(names)
        make(pl, path, bl, fn, nl, name)
    return shapes
