"""The console at ``/ui``: server-rendered pages over the same project, keys and roles as the API.

Pages: ``/ui`` (overview), ``/ui/timeline`` (accuracy, the shadow, promotions and drift over time),
``/ui/lineage`` (every version; promote), ``/ui/labels`` (the label queue), ``/ui/confirm`` (an admin
action, with its reason), ``/ui/login``. Any key sees, a ``feedback`` key labels, an ``admin`` key acts
(see :mod:`lamarck.serve._sessions` for how a browser carries its key). The figures come from
:mod:`lamarck.serve._console`; the charts are inline SVG (:func:`lamarck.report.timeline_chart`). A label
goes through :meth:`ServerState.add_feedback`, the path of ``POST /v1/feedback``; an action through the
project (the champion ledger) with the reason and the caller recorded in the decision log.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from lamarck.errors import LamarckError, ModelNotFoundError
from lamarck.report import timeline_chart
from lamarck.serve import _console as figures
from lamarck.serve._deps import State
from lamarck.serve._errors import without_paths
from lamarck.serve._sessions import COOKIE, SESSION_S, Caller
from lamarck.serve._state import ServerState
from lamarck.serve._status import server_status

router = APIRouter(prefix="/ui", include_in_schema=False)

_HERE = Path(__file__).resolve().parent.parent / "console"
#: nothing from another origin; the SVG charts carry inline styles; forms post to this server only
_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": _CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: the longest reason an action keeps
MAX_REASON = 500


@functools.cache
def _templates() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        auto_reload=False,
    )
    env.globals.update(num=_num, pct=_pct)
    return env


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.1f} %"


def _page(name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    html = _templates().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


# ---------------------------------------------------------------------- who is calling


def _caller(request: Request, state: ServerState) -> Caller | None:
    """The console's caller: everyone is admin on an open (localhost) server; else an API key in the
    headers (scripts, tests), or the session cookie of a person who signed in."""
    if state.auth.mode == "open":
        return Caller("admin", None, "open")
    key = (
        request.headers.get("x-api-key")
        or request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    )
    if key:
        found = state.project.store.key_session(key)
        return None if found is None else Caller(found[1], found[0], "")  # no session: no CSRF to check
    return state.sessions.caller(request.cookies.get(COOKIE))


def _context(request: Request, state: ServerState, caller: Caller, page: str, **more: Any) -> dict[str, Any]:
    csrf = state.sessions.csrf(caller) if caller.session else ""
    return {"caller": caller, "csrf": csrf, "page": page, "title": more.pop("title", "Console"), **more}


def _signed_in(request: Request, state: ServerState) -> Caller:
    """The caller of a page; a browser without a session is sent to the sign-in page."""
    caller = _caller(request, state)
    if caller is None:
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="")
        raise HTTPException(303, "sign in first", headers={"Location": f"/ui/login?next={target}"})
    return caller


async def _form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as one value per field (the first)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _message(caller: Caller | None, status: int, heading: str, message: str) -> HTMLResponse:
    return _page(
        "message.html", status=status, caller=caller, title=heading, heading=heading, message=message
    )


def _refused(caller: Caller, action: str) -> HTMLResponse | None:
    """A 403 page when ``caller``'s role may not do ``action`` (``label``, ``act``); else None."""
    if caller.may(action):
        return None
    need = {"label": "feedback or admin", "act": "admin"}[action]
    return _message(
        caller, 403, "Refused", f"An API key with role {need} is needed for this; yours is {caller.role!r}."
    )


def _may(caller: Caller, action: str, form: dict[str, str], state: ServerState) -> HTMLResponse | None:
    """An error page when the form's CSRF token is wrong or ``caller`` may not do ``action``; else None."""
    if caller.session and not state.sessions.check_csrf(caller, form.get("csrf")):
        return _message(
            caller,
            403,
            "Refused",
            "This form is out of date or did not come from this console (CSRF token). Open the page again.",
        )
    return _refused(caller, action)


# ---------------------------------------------------------------------- sign in


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, state: State, next: str = "/ui") -> Response:
    if state.auth.mode == "open":
        return RedirectResponse("/ui", status_code=303)
    return _page("login.html", caller=None, title="Sign in", next=_safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, state: State) -> Response:
    form = await _form(request)
    token = await run_in_threadpool(state.sessions.sign_in, form.get("key", "").strip())
    if token is None:
        return _page(
            "login.html",
            status=401,
            caller=None,
            title="Sign in",
            next=_safe_next(form.get("next", "/ui")),
            flash="That key is unknown or revoked. Use an active key (`lamarck keys list` shows them).",
            flash_error=True,
        )
    response = RedirectResponse(_safe_next(form.get("next", "/ui")), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_S),
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(request: Request, state: State) -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


def _safe_next(target: str) -> str:
    """Where to go after signing in: a console path only (never another site)."""
    return target if target.startswith("/ui") and "//" not in target and "\\" not in target else "/ui"


# ---------------------------------------------------------------------- pages


def _task(status: dict[str, Any]) -> str:
    return str((status.get("champion") or {}).get("task") or "classification")


@router.get("", response_class=HTMLResponse)
def overview(request: Request, state: State, done: str = "") -> Response:
    caller = _signed_in(request, state)
    s = server_status(state)
    champion = s.get("champion")
    since, score, lag = "", None, None
    if champion:
        since = champion["created_at"]
        for d in s["decisions"]:
            if (
                d["kind"] in ("promote", "rollback")
                and str((d.get("figures") or {}).get("to")) == champion["version"]
            ):
                since = str(d["ts"])[:19]
                break
        metric = champion.get("metric")
        value = (champion.get("metrics") or {}).get(metric) if metric else None
        score = float(value) if isinstance(value, int | float) else None
        cursor = (s.get("layer") or {}).get("feedback_cursor")
        if cursor is not None:
            lag = max(0, state.project.store.max_feedback_id() - int(cursor))
    recent = figures.served_recent(state.project, task=_task(s)) if champion else None
    return _page(
        "overview.html",
        **_context(request, state, caller, "/ui", title="Overview"),
        s=s,
        since=since,
        champion_score=score,
        recent=recent,
        lag=lag,
        flash=_DONE.get(done, ""),
        refresh=30,
    )


#: what the overview says after an action (the action's own figures are in the decision log below)
_DONE = {
    "promote": "Promoted: the decision and its reason are in the log below.",
    "rollback": "Rolled back: the decision and its reason are in the log below.",
    "evolve": "The evolve pass ran: its decision is the newest in the log below.",
}


def _timelines(state: ServerState) -> tuple[figures.Timeline, figures.DriftTimeline]:
    """Accuracy and drift over time (the ``/ui/timeline`` page and its JSON)."""
    s = state.project.status()
    t = figures.timeline(state.project, task=_task(s))
    found = state.models.of("champion")
    if found is None:
        return t, figures.DriftTimeline(reason="no champion yet")
    return t, figures.drift_timeline(state.project, found[0])


@router.get("/timeline", response_class=HTMLResponse)
def timeline_page(request: Request, state: State) -> Response:
    caller = _signed_in(request, state)
    t, d = _timelines(state)
    served_svg = drift_svg = None
    if t.periods:
        series = {"served": t.served, **t.shadow}
        served_svg = timeline_chart(t.periods, series, events=t.events, ylabel=t.metric)
    if d.periods:
        lines = {**d.columns, "prediction": d.prediction}
        drift_svg = timeline_chart(
            d.periods, lines, ylabel="PSI", hlines=[(0.1, "moderate"), (0.2, "severe")]
        )
    return _page(
        "timeline.html",
        **_context(request, state, caller, "/ui/timeline", title="Over time"),
        t=t,
        d=d,
        served_svg=served_svg,
        drift_svg=drift_svg,
    )


@router.get("/api/timeline")
def timeline_data(request: Request, state: State) -> JSONResponse:
    """The figures behind ``/ui/timeline``'s charts, as JSON."""
    _signed_in(request, state)
    t, d = _timelines(state)
    return JSONResponse(
        {"accuracy": t.to_dict(), "drift": d.to_dict()}, headers={"Cache-Control": "no-store"}
    )


@router.get("/lineage", response_class=HTMLResponse)
def lineage_page(request: Request, state: State) -> Response:
    caller = _signed_in(request, state)
    versions = figures.lineage(state.project)
    return _page(
        "lineage.html", **_context(request, state, caller, "/ui/lineage", title="Lineage"), versions=versions
    )


@router.get("/reports/{name}")
def report(name: str, request: Request, state: State) -> Response:
    """A fit report of the project (``reports/fit-*.html``)."""
    _signed_in(request, state)
    folder = (state.project.path / "reports").resolve()
    path = (folder / name).resolve()
    if (
        path.parent != folder
        or not name.startswith("fit-")
        or not name.endswith(".html")
        or not path.is_file()
    ):
        raise HTTPException(404, f"no report named {name[:80]!r}")
    headers = {
        **_HEADERS,
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    }
    return FileResponse(path, media_type="text/html", headers=headers)


@router.get("/labels", response_class=HTMLResponse)
def labels_page(request: Request, state: State, saved: str = "") -> Response:
    caller = _signed_in(request, state)
    return _labels(request, state, caller, flash=_saved(state, saved) if saved else "")


def _saved(state: ServerState, prediction_id: str) -> str:
    stored = state.project.store.counts().get("feedback", 0)
    return f"Saved the label of prediction {prediction_id[:8]} (stored; {stored} labels in the store)."


def _labels(
    request: Request, state: ServerState, caller: Caller, *, status: int = 200, **more: Any
) -> HTMLResponse:
    found = state.models.of("champion")
    classes = None
    if found is not None and getattr(found[0], "classes_", None) is not None:
        classes = [str(c) for c in found[0].classes_]
    queue = figures.label_queue(state.project, n=10)
    return _page(
        "labels.html",
        status=status,
        **_context(request, state, caller, "/ui/labels", title="Label queue"),
        queue=queue,
        classes=classes,
        **more,
    )


@router.post("/labels", response_class=HTMLResponse)
async def save_label(request: Request, state: State) -> Response:
    form = await _form(request)
    caller = await run_in_threadpool(_signed_in, request, state)
    refused = _may(caller, "label", form, state)
    if refused is not None:
        return refused
    prediction_id, label = form.get("prediction_id", ""), form.get("label", "")
    item = {"prediction_id": prediction_id, "label": label, "weight": 1.0}
    try:
        result = await run_in_threadpool(lambda: state.add_feedback(items=[item], source="console"))
        reason = result.quarantined[0][1] if result.quarantined else None
    except LamarckError as e:  # none usable: quarantined with its reason, and said here
        reason = without_paths(str(e), state.project.path.resolve())
    if reason is not None:
        return await run_in_threadpool(
            lambda: _labels(
                request, state, caller, status=422, flash=f"Not saved: {reason}", flash_error=True
            )
        )
    return RedirectResponse(f"/ui/labels?saved={quote(prediction_id, safe='')}", status_code=303)


# ---------------------------------------------------------------------- actions (admin)

_ACTIONS = {
    "promote": ("Promote version {version}", "Promote v{version}"),
    "rollback": ("Roll back the champion", "Roll back"),
    "evolve": ("Run an evolve pass now", "Run the pass"),
}


@router.get("/confirm", response_class=HTMLResponse)
def confirm(request: Request, state: State, action: str = "", version: str = "") -> Response:
    caller = _signed_in(request, state)
    if action not in _ACTIONS:
        raise HTTPException(404, f"no action {action[:40]!r}")
    refused = _refused(caller, "act")
    if refused is not None:
        return refused
    status = state.project.status()
    champion = (status.get("champion") or {}).get("version")
    heading, button = (text.format(version=version) for text in _ACTIONS[action])
    if action == "promote":
        what = f"Version {version} will serve every prediction in place of v{champion}. The promotion is watched like any other: the loop rolls it back if v{champion} does significantly better on the labels that follow."
    elif action == "rollback":
        what = f"The champion moves from v{champion} back to the version it replaced."
    else:
        what = "One pass of the evolution policy runs now (as `lamarck evolve`): it may train a challenger, promote one that passed its test, or roll back a promotion that went wrong."
    back = "/ui/lineage" if action == "promote" else "/ui"
    return _page(
        "confirm.html",
        **_context(request, state, caller, back, title=heading),
        heading=heading,
        button=button,
        what=what,
        action=action,
        version=version,
        back=back,
    )


@router.post("/actions/{action}", response_class=HTMLResponse)
async def act(action: str, request: Request, state: State) -> Response:
    form = await _form(request)
    caller = await run_in_threadpool(_signed_in, request, state)
    refused = _may(caller, "act", form, state)
    if refused is not None:
        return refused
    if action not in _ACTIONS:
        raise HTTPException(404, f"no action {action[:40]!r}")
    reason = " ".join(form.get("reason", "").split())[:MAX_REASON]
    if not reason:
        return _message(
            caller,
            422,
            "A reason is needed",
            "Say why in a sentence: the decision log keeps it beside the action.",
        )
    try:
        await run_in_threadpool(_run, state, action, form.get("version", ""), reason, caller)
    except LamarckError as e:
        status = 404 if isinstance(e, ModelNotFoundError) else 422
        return _message(caller, status, "Not done", without_paths(str(e), state.project.path.resolve()))
    return RedirectResponse(f"/ui?done={action}", status_code=303)


def _run(state: ServerState, action: str, version: str, reason: str, caller: Caller) -> None:
    """Do ``action`` through the project, the reason and the caller in the decision log."""
    said = f"{reason} (console, {caller.who})"
    if action == "promote":
        state.project.promote(version, reason=said, figures={"origin": "console", "by": caller.who})
    elif action == "rollback":
        state.project.rollback(reason=said)
    else:
        state.project.store.record_decision("operator", f"evolve pass asked for: {said}", {"by": caller.who})
        state.evolve.run_once()
    state.aliases.invalidate()


@router.get("/static/console.css")
def stylesheet() -> Response:
    return FileResponse(
        _HERE / "console.css", media_type="text/css", headers={"Cache-Control": "max-age=3600"}
    )
