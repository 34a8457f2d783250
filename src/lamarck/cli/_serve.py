"""``lamarck serve`` and ``lamarck keys create|list|revoke``: the HTTP server and its API keys."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from lamarck.cli._app import ProjectOpt, console, err_console, open_project

if TYPE_CHECKING:
    from lamarck.serve import AuthMode

__all__ = ["keys_app", "serve", "ui"]

#: the address and port options of ``serve`` and ``ui``
HostOpt = Annotated[str, typer.Option(help="Address to listen on (others than localhost need API keys).")]
PortOpt = Annotated[int, typer.Option(help="Port to listen on (0: any free port).", min=0, max=65535)]


def serve(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    auto_evolve: Annotated[
        bool,
        typer.Option(
            "--auto-evolve", help="Run the evolution policy in the background (as `lamarck evolve`)."
        ),
    ] = False,
    evolve_every: Annotated[
        float, typer.Option(help="Seconds between evolution passes with --auto-evolve.", min=1.0)
    ] = 60.0,
    workers: Annotated[
        int,
        typer.Option(
            help="Processes serving together on the same port, sharing the project's store and models; each "
            "sees an alias move within about a second. With --auto-evolve each runs the loop and the store's "
            "evolve lease lets one pass run at a time; the /v1/stream routes need 1.",
            min=1,
        ),
    ] = 1,
    feedback_from: Annotated[
        str | None,
        typer.Option(
            help="kafka://BROKERS/TOPIC[?group.id=...&label-column=COL]: store and learn the labels published "
            "there ({prediction_id, label} per message, or rows with their label); offsets move with the store.",
        ),
    ] = None,
    kafka_config: Annotated[
        Path | None,
        typer.Option(
            help="Kafka client properties file (key=value lines) for --feedback-from.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """Serve the champion over HTTP: /v1/predict, /v1/feedback, /v1/status, /v1/models, /v1/evolve,
    /v1/suggest-labels, /metrics, /docs, and the web console at /ui. A challenger in the shadow answers
    every row too (logged only).

    Without API keys (`lamarck keys create --role admin`) the server listens on localhost only.

    Example: lamarck serve --port 8000 --auto-evolve   (then open http://127.0.0.1:8000/docs)
    """
    import uvicorn

    from lamarck.serve import create_app

    proj = open_project(project, create=True)
    host, mode = listen_on(proj, host, port)
    auth = "API keys required" if mode == "keys" else "no API keys (localhost only)"
    evolving = f", auto-evolve every {evolve_every:g}s" if auto_evolve else ""
    console.print(
        f"Lamarck serving project {project} on http://{host}:{port} ({auth}{evolving}; docs at /docs, "
        "console at /ui)"
    )
    if workers > 1:
        import os

        from lamarck.serve import WORKER_ENV

        # each worker process builds its own app from these (uvicorn needs an import string for workers)
        every = f"{evolve_every:g}" if auto_evolve else ""
        values = (
            str(proj.path.resolve()), mode, str(workers), every, feedback_from or "",
            str(kafka_config.resolve()) if kafka_config else "",
        )  # fmt: skip
        os.environ.update(dict(zip(WORKER_ENV, values, strict=True)))
        console.print(f"{workers} worker processes")
        uvicorn.run(
            "lamarck.serve:app_from_env",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
        )
        return
    if feedback_from:
        from lamarck.stream import KafkaSource

        console.print(f"feedback from {KafkaSource.parse(feedback_from, extra=('label-column',)).shown}")
    app_ = create_app(
        proj,
        auto_evolve=auto_evolve,
        evolve_every_s=evolve_every,
        auth_mode=mode,
        feedback_from=feedback_from,
        kafka_properties=str(kafka_config) if kafka_config else None,
    )
    uvicorn.run(app_, host=host, port=port, log_level="warning")


def ui(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8001,
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the console in the default web browser.")
    ] = True,
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """Open the web console of a project without serving predictions: the champion's health, accuracy and
    drift over time, the lineage of every version, the label queue, and (admin) promote, roll back, evolve.

    The same API keys and roles as `lamarck serve` (a predict key sees, a feedback key labels, an admin key
    acts); without keys, localhost only and everyone is admin. `lamarck serve` serves the same console at /ui.

    Example: lamarck ui --project .lamarck   (then sign in with a key from `lamarck keys create`)
    """
    import threading
    import webbrowser

    import uvicorn

    from lamarck.serve import create_app

    proj = open_project(project, create=False)
    host, mode = listen_on(proj, host, port)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(proj, auth_mode=mode, console_only=True), host=host, port=port, log_level="warning"
        )
    )
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/ui"

    def announce() -> None:
        while not server.started and not server.should_exit:
            threading.Event().wait(0.05)
        if server.started:
            address = server.servers[0].sockets[0].getsockname() if server.servers else (host, port)
            shown = url.replace(f":{port}/", f":{address[1]}/")
            console.print(f"Lamarck console of project {project} on {shown} (Ctrl+C stops it)")
            if open_browser:
                webbrowser.open(shown)

    threading.Thread(target=announce, daemon=True).start()
    server.run()


def listen_on(proj: Any, host: str, port: int) -> tuple[str, AuthMode]:
    """The address to listen on and the auth mode: a project without API keys is served on localhost only
    (said on stderr); a ConfigError when the address cannot be listened on."""
    from lamarck.serve import bind_host

    mode: AuthMode = "keys" if proj.store.has_keys() else "open"
    if bind_host(host, mode=mode) != host:
        err_console.print(
            f"[yellow]no API keys configured: listening on 127.0.0.1 instead of {host}[/yellow] "
            "(create one with `lamarck keys create --role admin`, then serve on any address)."
        )
        host = bind_host(host, mode=mode)
    check_address(host, port)
    return host, mode


def check_address(host: str, port: int) -> None:
    """A ConfigError, before the server starts, when ``host:port`` cannot be listened on (an unknown host
    name, an address of another machine, a port in use or reserved).

    >>> from lamarck.errors import ConfigError
    >>> try:
    ...     check_address("no-such-host.invalid", 8000)
    ... except ConfigError as e:
    ...     print(str(e)[:44])
    cannot listen on no-such-host.invalid:8000 (
    """
    import socket

    from lamarck.errors import ConfigError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as e:
        raise ConfigError(
            f"cannot listen on {host}:{port} ({type(e).__name__}: {e.strerror or e}). Fix: --host 127.0.0.1 "
            "(this machine only) or 0.0.0.0 (every interface, needs API keys), and a free --port."
        ) from None


keys_app = typer.Typer(
    help="API keys of the server, each with a role: predict, feedback or admin.", no_args_is_help=True
)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="predict, feedback or admin.")],
    name: Annotated[str, typer.Option(help="A name to recognise the key by.")] = "",
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """Create an API key; it is shown once (only its hash is stored).

    Example: lamarck keys create --role feedback --name labelling-team
    """
    key = open_project(project, create=True).store.create_key(role, name=name)
    console.print(f"created a {role!r} key (shown once, store it now):")
    print(key)


@keys_app.command("list")
def keys_list(project: ProjectOpt = Path(".lamarck")) -> None:
    """List API keys (never the keys themselves)."""
    t = Table()
    for col in ("id", "name", "role", "created", "revoked"):
        t.add_column(col)
    for k in open_project(project, create=False).store.api_keys():
        t.add_row(str(k["id"]), k["name"], k["role"], str(k["ts"])[:19], "yes" if k["revoked"] else "no")
    console.print(t)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="Id from `lamarck keys list`.")],
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """Revoke an API key by its id."""
    from lamarck.errors import ConfigError

    if not open_project(project, create=False).store.revoke_key(key_id):
        raise ConfigError(f"no API key with id {key_id}. Fix: see `lamarck keys list`.")
    console.print(f"revoked key {key_id}")
