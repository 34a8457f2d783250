"""The routers of the server, one module per area; ``create_app`` includes them in this order."""

from lamarck.serve._routes import console, docs, feedback, loop, models, ops, predict, stream

ROUTERS = (
    ops.router,  # GET /healthz, GET /metrics
    predict.router,  # POST /v1/predict
    feedback.router,  # POST /v1/feedback
    models.router,  # GET /v1/models, POST /v1/models/{version}/promote, POST /v1/rollback
    loop.router,  # GET /v1/status, POST /v1/evolve, GET /v1/suggest-labels
    stream.router,  # /v1/stream/*
    docs.router,  # GET /openapi.json, /docs, /redoc (not in the document)
    console.router,  # /ui: the console's pages (not in the document)
)

#: what ``lamarck ui`` serves: the console without the prediction routes
CONSOLE_ROUTERS = (ops.router, console.router)

__all__ = ["CONSOLE_ROUTERS", "ROUTERS"]
