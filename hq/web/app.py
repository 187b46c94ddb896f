"""The dashboard's web app: login, the stores, store and chain pages, pushing settings.

    app = create_app(config)                       # a Starlette ASGI app
    app = create_app(config, publish=recording)    # tests: publish(config, text, **scope)

Every page needs a session (else: the login page); every POST checks the session's CSRF token
(403 without it); pushing settings needs the admin role (403 for an analyst). Pages are
rendered on the server; their script only sorts, filters and polls /api/live for the figures.
"""
from __future__ import annotations

import secrets
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hq import charts
from hq.web import data, present
from hq.web.auth import Gate, Locked, Session
from hq.web.words import LANGUAGES, say_known, words

HERE = Path(__file__).parent
SESSION_COOKIE, LOGIN_COOKIE, LANG_COOKIE = "cxhq_session", "cxhq_login", "cxhq_lang"
MAX_SETTINGS_BYTES = 256 * 1024
CHART_W = 520         # the charts' own width: CSS scales them to the panel (phone to desktop)
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def create_app(config, publish=None, clock=time.time) -> Starlette:
    if publish is None:
        def publish(*args, **kwargs):
            from hq.push import publish_settings     # the settings push, loaded when used
            return publish_settings(*args, **kwargs)
    gate = Gate(config.web, clock)
    templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                            autoescape=select_autoescape(default=True, default_for_string=True))
    web = config.web

    # -- helpers --------------------------------------------------------------------------------
    def lang_of(request: Request) -> str:
        lang = request.cookies.get(LANG_COOKIE, "en")
        return lang if lang in LANGUAGES else "en"

    def render(request, name, session: Session | None, status=200, **context) -> HTMLResponse:
        lang = lang_of(request)
        say = words(lang)
        html = templates.get_template(name).render(
            say=say, known=lambda word: say_known(say, word), lang=lang, session=session, refresh_s=web.refresh_s, path=request.url.path,
            query=request.url.query, **context)
        return HTMLResponse(html, status_code=status)

    def formats(request, now) -> present.Formats:
        lang = lang_of(request)
        return present.Formats(words(lang), lang, config.tz, now)

    def set_cookie(response, name, value, max_age):
        response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                            samesite="strict", secure=web.cookie_secure)

    def current(request) -> Session | None:
        return gate.session(request.cookies.get(SESSION_COOKIE))

    def to_login(request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    async def form_with_csrf(request, session: Session) -> dict:
        form = await request.form()
        if not gate.csrf_ok(session.csrf, form.get("csrf")):
            raise HTTPException(403, "missing or wrong CSRF token")
        return form

    async def with_db(build):
        """build(db) in a worker thread (queries never stall the event loop), on a fresh
        read connection."""
        def run():
            db = data.open_db(config)
            try:
                return build(db)
            finally:
                db.close()
        return await run_in_threadpool(run)

    cache: dict[str, tuple[float, dict | None]] = {}

    def cached(key: str, build):
        """Figures computed at most once per half refresh period for all readers: every open
        page polls, and a chain's figures scan the period's events."""
        hit = cache.get(key)
        if hit and time.monotonic() - hit[0] < web.refresh_s / 2:
            return hit[1]
        value = build()
        cache[key] = (time.monotonic(), value)
        if len(cache) > 1000:                 # store pages of a big chain: forget the oldest
            del cache[min(cache, key=lambda k: cache[k][0])]
        return value

    def overview(db, now):
        return cached("/", lambda: data.overview(db, config, now))

    def page(handler, admin=False):
        async def endpoint(request: Request):
            session = current(request)
            if session is None:
                if request.url.path.startswith("/api/"):
                    return JSONResponse({"error": "log in"}, status_code=401)
                return to_login(request)
            if admin and not session.admin:
                raise HTTPException(403, "admins only")
            return await handler(request, session)
        return endpoint

    # -- login ----------------------------------------------------------------------------------
    async def login_form(request: Request, error: str = "", status: int = 200):
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
        response = render(request, "login.html", None, status=status, csrf=token, error=error,
                          next=_safe_next(request.query_params.get("next")))
        set_cookie(response, LOGIN_COOKIE, token, 3600)
        return response

    async def login(request: Request):
        if request.method == "GET":
            return await login_form(request)
        form = await request.form()
        if not gate.csrf_ok(request.cookies.get(LOGIN_COOKIE), form.get("csrf")):
            raise HTTPException(403, "missing or wrong CSRF token")
        say = words(lang_of(request))
        client = request.client.host if request.client else "?"
        try:
            session = await run_in_threadpool(            # scrypt: off the event loop
                gate.login, str(form.get("username", ""))[:100],
                str(form.get("password", ""))[:1000], client)
        except Locked as locked:
            minutes = max(1, round(locked.seconds / 60))
            return await login_form(request, say("locked", minutes=minutes), 429)
        if session is None:
            return await login_form(request, say("bad_login"), 401)
        response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
        set_cookie(response, SESSION_COOKIE, session.token, web.session_lifetime_s)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    async def logout(request: Request, session: Session):
        await form_with_csrf(request, session)
        gate.logout(session)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def language(request: Request):
        lang = request.path_params["lang"]
        if lang not in LANGUAGES:
            raise HTTPException(404)
        response = RedirectResponse(_safe_next(request.query_params.get("next")), 303)
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path="/", samesite="strict",
                            secure=web.cookie_secure)
        return response

    # -- pages ----------------------------------------------------------------------------------
    def stores_model(request, db, now):
        ov = overview(db, now)
        f = formats(request, now)
        return ov, f, present.stores_table(ov, f), present.chain_cards(ov, f)

    async def stores(request: Request, session: Session):
        now = clock()
        ov, f, rows, cards = await with_db(lambda db: stores_model(request, db, now))
        return render(request, "stores.html", session, rows=rows, cards=cards,
                      columns=present.STORE_COLUMNS, live="stores",
                      period=f.say("period", days=ov["days"], until=f.when(now)))

    def chain_model(request, db, now):
        ov = overview(db, now)
        f = formats(request, now)
        forest = charts.forest(
            [(r["store"], r["card"].nps.value,
              *(r["card"].nps.interval or (None, None)),
              f.say("hidden") if r["card"].nps.n else present.DASH)
             for r in sorted(ov["stores"], key=lambda r: r["store"])],
            width=600, label=f.say("nps_by_store"))
        return ov, f, present.chain_cards(ov, f), present.league(ov, f), \
            present.below_target(ov, f), forest

    async def chain(request: Request, session: Session):
        now = clock()
        ov, f, cards, league, below, forest = await with_db(
            lambda db: chain_model(request, db, now))
        return render(request, "chain.html", session, cards=cards, league=league, below=below,
                      forest=forest, live="chain",
                      period=f.say("period", days=ov["days"], until=f.when(now)))

    def store_model(request, db, store, now):
        row = cached(f"/store/{store}", lambda: data.store_detail(db, config, store, now))
        if row is None:
            return None
        f = formats(request, now)
        daily = present.trend_rows(row["daily"], f, "day")
        weekly = present.trend_rows(row["weekly"], f, "week")
        points = [(p["card"].nps.value, *(p["card"].nps.interval or (None, None)))
                  for p in row["daily"]]
        trend = charts.lines({f.say("nps"): points}, [p["label"][5:] for p in row["daily"]],
                             width=CHART_W, label=f.say("nps_trend"), total_last=False,
                             legend=False)
        weekly_chart = charts.lines(
            {f.say("nps"): [(p["card"].nps.value, *(p["card"].nps.interval or (None, None)))
                            for p in row["weekly"]]},
            [p["label"][5:] for p in row["weekly"]], width=CHART_W, label=f.say("nps_trend"),
            total_last=False, legend=False)
        responses = charts.bars([p["responses"] for p in row["daily"]],
                                [p["label"][8:] for p in row["daily"]], f.say("responses"),
                                every=2)
        return row, f, present.store_cells(f, row), daily, weekly, trend, weekly_chart, responses

    async def store_page(request: Request, session: Session):
        now = clock()
        store = request.path_params["store"]
        model = await with_db(lambda db: store_model(request, db, store, now))
        if model is None:
            raise HTTPException(404, f"no store {store!r}")
        row, f, cells, daily, weekly, trend, weekly_chart, responses = model
        return render(request, "store.html", session, row=row, f=f, cells=cells,
                      columns=present.STORE_COLUMNS, daily=daily, weekly=weekly, trend=trend,
                      weekly_chart=weekly_chart, responses_chart=responses, live="store",
                      store=store, cases_shown=data.CASES_SHOWN)

    async def live(request: Request, session: Session):
        now = clock()
        which = request.query_params.get("page", "stores")

        def build(db):
            f = formats(request, now)
            if which == "store":
                model = store_model(request, db, request.query_params.get("store", ""), now)
                if model is None:
                    return None
                _, _, cells, daily, weekly, *_ = model
                return {"cells": present.live_map(cells, daily, weekly), "rows": {}}
            ov = overview(db, now)
            rows = present.stores_table(ov, f)
            groups = [rows, present.chain_cards(ov, f)]
            if which == "chain":
                groups.append(present.league(ov, f))
            return {"cells": present.live_map(*groups),
                    "rows": {r["store"]: r["flags"] for r in rows}}
        payload = await with_db(build)
        if payload is None:
            return JSONResponse({"error": "no such store"}, status_code=404)
        payload["updated"] = formats(request, now).when(now)
        return JSONResponse(payload)

    # -- pushing settings -----------------------------------------------------------------------
    async def push(request: Request, session: Session):
        if request.method == "GET":
            return render(request, "push.html", session, form={"scope": "store"}, result=None,
                          error="")
        form = await form_with_csrf(request, session)
        say = words(lang_of(request))
        values = {"scope": str(form.get("scope", "")), "which": str(form.get("which", "")).strip(),
                  # a browser sends a text area's lines with CRLF (HTML spec): keep the text's own
                  "settings": str(form.get("settings", "")).replace("\r\n", "\n")}
        upload = form.get("file")
        text, error = values["settings"], ""
        if upload is not None and hasattr(upload, "read") and upload.filename:
            raw = await upload.read(MAX_SETTINGS_BYTES + 1)
            try:
                text = raw.decode("utf-8")
                values["settings"] = text
            except UnicodeDecodeError:
                error = say("not_utf8")
        scope = {}
        if values["scope"] == "chain":
            scope = {"chain": True}
        elif values["scope"] in ("station", "store"):
            scope = {values["scope"]: values["which"]}
            if not values["which"]:
                error = error or say("need_which")
        else:
            raise HTTPException(400, "scope must be station, store or chain")
        if not text.strip():
            error = error or say("need_settings")
        if len(text.encode("utf-8")) > MAX_SETTINGS_BYTES:
            error = error or f"settings over {MAX_SETTINGS_BYTES // 1024} KiB"
        result = None
        if not error:
            try:     # a push waits for the broker's acks: off the event loop
                result = await run_in_threadpool(publish, config, text, who=session.username,
                                                 **scope)
            except ValueError as exc:          # hq.push.PushError: its message names the key
                error = str(exc)
            except RuntimeError as exc:        # hq.push.PublishError, HqDbError: not sent
                error = str(exc)
        return render(request, "push.html", session, form=values, result=result,
                      error=error, status=400 if error else 200)

    async def error_page(request: Request, exc: HTTPException):
        session = current(request)
        say = words(lang_of(request))
        message = {403: say("forbidden"), 404: say("not_found")}.get(exc.status_code,
                                                                      exc.detail)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        return render(request, "error.html", session, status=exc.status_code, message=message,
                      detail=exc.detail if exc.status_code != 404 else "")

    routes = [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", page(logout), methods=["POST"]),
        Route("/lang/{lang}", language),
        Route("/", page(stores)),
        Route("/chain", page(chain)),
        Route("/store/{store:path}", page(store_page)),
        Route("/api/live", page(live)),
        Route("/push", page(push, admin=True), methods=["GET", "POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: error_page})
    app.add_middleware(SecurityHeaders)
    app.state.gate = gate
    return app


def _safe_next(target) -> str:
    """Only a path on this site: never a redirect elsewhere ('//evil', 'https://…')."""
    target = str(target or "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return "/"
    return target


class SecurityHeaders:
    """CSP without inline scripts, no framing, and no caching of anything but static files."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", CSP.encode()),
                            (b"x-frame-options", b"DENY"),
                            (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"same-origin"),
                            (b"cache-control", b"max-age=3600" if static else b"no-store")]
                message = {**message, "headers": headers}
            await send(message)
        await self.app(scope, receive, send_with_headers)

