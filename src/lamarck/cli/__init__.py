"""The ``lamarck`` command line: one thin command per use case, presentation only.

Every command parses its flags, calls :class:`lamarck.Project` (or the public names of
:mod:`lamarck.bench`, :mod:`lamarck.stream`, :mod:`lamarck.serve`) and prints; a
:class:`lamarck.errors.LamarckError` is printed as one paragraph (never a traceback) and the command
exits non-zero.

Modules: ``_app`` (the typer app, :func:`main`, shared options), ``_fit`` (plan, fit, predict),
``_loop`` (status, models, evolve, history, suggest-labels, feedback), ``_serve`` (serve, ui, keys),
``_stream``, ``_bench``, ``_meta`` (meta build) and ``_tables`` (rich tables and formatting). The commands are registered here,
in the order ``lamarck --help`` lists them.
"""

from lamarck.cli._app import app, main
from lamarck.cli._bench import bench
from lamarck.cli._fit import fit, plan, predict
from lamarck.cli._loop import evolve, feedback, history, models, status, suggest_labels
from lamarck.cli._meta import meta_app
from lamarck.cli._serve import keys_app, serve, ui
from lamarck.cli._stream import stream

__all__ = ["app", "main"]

app.command()(plan)
app.command()(fit)
app.command()(predict)
app.command()(status)
app.command()(models)
app.command()(serve)
app.command()(ui)
app.command()(evolve)
app.command()(history)
app.command("suggest-labels")(suggest_labels)
app.add_typer(keys_app, name="keys")
app.command()(feedback)
app.command()(stream)
app.command()(bench)
app.add_typer(meta_app, name="meta")
