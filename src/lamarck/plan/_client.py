"""``LLMClient``: one chat call to any OpenAI-compatible endpoint, within a deadline, with an audit trail.

It asks for structured output in the best form the server supports and steps down when the server
refuses it: a JSON schema (``response_format={"type": "json_schema", ...}``), then JSON mode
(``{"type": "json_object"}``), then free text from which the JSON object is cut out
(:func:`extract_json`). The mode that worked is remembered for the next call (``mode_``).

Retries: 429, 5xx, lost connections and timeouts are retried with exponential back-off (honouring
``Retry-After``), never past the caller's deadline. A refused key (401/403) raises
:class:`~lamarck.errors.LLMAuthError`, a wrong URL or model (404) :class:`~lamarck.errors.LLMEndpointError`;
an endpoint that stays down raises :class:`~lamarck.errors.LLMUnavailableError`.

:class:`Transcript` writes every exchange (prompt, answer, verdict) as one JSON line to
``<project>/llm/<time>-<step>.jsonl``; the API key is never written (and is scrubbed from error texts).

    >>> extract_json('Sure! ```json\\n{"target": "price", "task": "regression"}\\n``` Hope it helps.')
    {'target': 'price', 'task': 'regression'}
    >>> extract_json("no object here") is None
    True
    >>> redact_url("https://user:secret@api.example.com/v1")
    'https://api.example.com/v1'
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict

from lamarck.errors import LLMAuthError, LLMEndpointError, LLMUnavailableError

__all__ = ["MODES", "LLMClient", "Reply", "Transcript", "extract_json", "redact_url"]

log = logging.getLogger(__name__)

Mode = Literal["json_schema", "json_object", "text"]
#: structured-output modes, best first
MODES: tuple[Mode, ...] = ("json_schema", "json_object", "text")


class Reply(BaseModel):
    """One answer of the model: its text, the output mode that produced it and how long it took."""

    model_config = ConfigDict(frozen=True)

    text: str
    mode: Mode
    seconds: float
    attempts: int = 1


def redact_url(url: str) -> str:
    """``url`` without user name, password, query or fragment (they may carry credentials)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def extract_json(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (whole text, a fenced block, or the first ``{...}`` that parses)."""
    text = text.strip()
    try:
        value = json.loads(text)
        if isinstance(value, dict):
            return value
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
            if isinstance(value, dict):
                return value
        except ValueError:
            pass
        start = text.find("{", start + 1)
    return None


class Transcript:
    """Append-only JSON-lines record of one LLM step; ``folder=None`` keeps nothing on disk."""

    def __init__(self, folder: Path | None, step: str, *, secrets: tuple[str, ...] = ()) -> None:
        self.folder = folder
        self.step = step
        self.secrets = secrets

    @property
    def path(self) -> Path | None:
        if self.folder is None:
            return None
        if not hasattr(self, "_path"):
            self._path = Path(self.folder) / f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{self.step}.jsonl"
        return self._path

    def add(self, **record: Any) -> None:
        path = self.path
        if path is None:
            return
        line = json.dumps(
            {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "step": self.step, **record},
            default=str,
            ensure_ascii=False,
        )
        for secret in self.secrets:
            if secret:
                line = line.replace(secret, "***")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")


class LLMClient:
    """Chat completions at ``base_url`` (any OpenAI-compatible server) through the ``openai`` SDK.

    ``http_client`` (an ``httpx.Client``, e.g. with ``httpx.MockTransport``), ``clock`` and ``sleep``
    are injectable. ``max_retries`` counts retries after the first request.
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        request_timeout_s: float = 30.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        http_client: Any = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        seed: int = 0,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self.api_key = api_key
        self.request_timeout_s = request_timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.http_client = http_client
        self.clock = clock
        self.sleep = sleep
        self.seed = seed

    def __repr__(self) -> str:  # never shows the key
        return f"LLMClient(base_url={redact_url(self.base_url)!r}, model={self.model!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_sdk", None)
        state["api_key"] = ""
        return state

    @property
    def mode_(self) -> Mode:
        """The best output mode the server has not refused yet."""
        return getattr(self, "_mode", MODES[0])

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.api_key,) if self.api_key else ()

    def _sdk_client(self) -> Any:
        if getattr(self, "_sdk", None) is None:
            import openai

            self._sdk = openai.OpenAI(
                base_url=self.base_url,
                api_key=self.api_key or "not-needed",  # local servers take any key; the SDK wants one
                max_retries=0,  # retries are ours, so that they respect the deadline
                timeout=self.request_timeout_s,
                http_client=self.http_client,
            )
        return self._sdk

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema: dict[str, Any],
        name: str,
        deadline: float,
        max_tokens: int = 1200,
    ) -> Reply:
        """The model's answer to ``messages`` in the best supported mode, before ``deadline`` (a clock value)."""
        import openai

        start = self.clock()
        attempts = 0
        retries = 0
        while True:
            remaining = deadline - self.clock()
            if remaining <= 0.05:
                raise LLMUnavailableError(
                    f"the LLM endpoint {redact_url(self.base_url)} gave no usable answer within the time limit "
                    f"({self.clock() - start:.1f} s spent). Fix: raise LAMARCK_LLM_TIMEOUT_S, check the server, "
                    "or plan with --no-llm."
                )
            mode = self.mode_
            kwargs: dict[str, Any] = {
                "model": self.model,
                "messages": messages,
                "temperature": 0,
                "max_tokens": max_tokens,
                "seed": self.seed,
            }
            if mode == "json_schema":
                kwargs["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": name, "schema": schema, "strict": False},
                }
            elif mode == "json_object":
                kwargs["response_format"] = {"type": "json_object"}
            attempts += 1
            try:
                client = self._sdk_client().with_options(timeout=min(self.request_timeout_s, remaining))
                response = client.chat.completions.create(**kwargs)
            except (openai.AuthenticationError, openai.PermissionDeniedError) as e:
                raise LLMAuthError(
                    f"the LLM endpoint {redact_url(self.base_url)} refused the API key (HTTP {e.status_code}: "
                    f"{self._scrub(_server_message(e))}). Fix: set LAMARCK_LLM_API_KEY (or llm_api_key in "
                    "lamarck.toml) to a valid key for this endpoint, or plan with --no-llm."
                ) from None
            except openai.NotFoundError as e:
                raise LLMEndpointError(
                    f"no chat-completions endpoint for model {self.model!r} at {redact_url(self.base_url)} "
                    f"(HTTP 404: {self._scrub(_server_message(e))}). Fix: LAMARCK_LLM_BASE_URL must be the API "
                    "root, usually ending in /v1 (e.g. http://localhost:11434/v1), and LAMARCK_LLM_MODEL a model "
                    "that server serves."
                ) from None
            except (openai.BadRequestError, openai.UnprocessableEntityError) as e:
                if mode != "text":
                    nxt = MODES[MODES.index(mode) + 1]
                    log.info(
                        "LLM server refused response_format %s (%s); trying %s", mode, _server_message(e), nxt
                    )
                    self._mode = nxt
                    continue
                raise LLMEndpointError(
                    f"the LLM endpoint {redact_url(self.base_url)} rejected the request (HTTP {e.status_code}: "
                    f"{self._scrub(_server_message(e))}). Fix: check LAMARCK_LLM_MODEL and that the server speaks "
                    "the OpenAI chat-completions API."
                ) from None
            except (
                openai.RateLimitError,
                openai.InternalServerError,
                openai.APIConnectionError,  # includes APITimeoutError
            ) as e:
                status = getattr(e, "status_code", None)
                what = f"HTTP {status}" if status else type(e).__name__
                if retries >= self.max_retries:
                    raise LLMUnavailableError(
                        f"the LLM endpoint {redact_url(self.base_url)} failed {attempts} time(s), last with {what} "
                        f"({self._scrub(_server_message(e))}). Fix: check that the server is up and "
                        "LAMARCK_LLM_BASE_URL points at it, or plan with --no-llm."
                    ) from None
                retries += 1
                delay = self.backoff_s * 2 ** (retries - 1) * (1 + 0.25 * random.Random(retries).random())
                delay = max(delay, _retry_after(e))
                delay = min(delay, max(deadline - self.clock() - 0.1, 0.0))
                log.info("LLM request failed (%s); retry %d in %.2f s", what, retries, delay)
                self.sleep(delay)
                continue
            except openai.APIError as e:
                raise LLMEndpointError(
                    f"the LLM endpoint {redact_url(self.base_url)} did not answer like an OpenAI-compatible "
                    f"server ({type(e).__name__}: {self._scrub(str(e))}). Fix: check LAMARCK_LLM_BASE_URL."
                ) from None
            text = _answer_text(response)
            if text is None:
                raise LLMEndpointError(
                    f"the LLM endpoint {redact_url(self.base_url)} answered without a message "
                    f"({str(response)[:200]}). Fix: check LAMARCK_LLM_BASE_URL and LAMARCK_LLM_MODEL."
                )
            return Reply(text=text, mode=mode, seconds=round(self.clock() - start, 3), attempts=attempts)

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text[:500]


def _answer_text(response: Any) -> str | None:
    try:
        content = response.choices[0].message.content
    except (AttributeError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None


def _server_message(e: Any) -> str:
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        err = body.get("error")
        msg = err.get("message") if isinstance(err, dict) else body.get("message")
        if msg:
            return str(msg)
    return str(getattr(e, "message", None) or e)


def _retry_after(e: Any) -> float:
    response = getattr(e, "response", None)
    value = None if response is None else response.headers.get("retry-after")
    try:
        return min(float(value), 30.0) if value is not None else 0.0
    except ValueError:
        return 0.0
