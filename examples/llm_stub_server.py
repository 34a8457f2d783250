"""A scripted OpenAI-compatible server on 127.0.0.1, to try the LLM features without a model.

It is the stub the tests use (``tests/plan/conftest.py``): ``POST /v1/chat/completions`` answers with the
lines of ANSWERS_FILE in order (one answer per line, the last one repeats) and ignores the prompt, so it
shows the plumbing (verification, repair, fallback, audit), not a model's understanding.

    python examples/llm_stub_server.py answers.txt --port 8765 &
    LAMARCK_LLM_BASE_URL=http://127.0.0.1:8765/v1 LAMARCK_LLM_MODEL=stub lamarck plan houses.csv "..."
"""

from __future__ import annotations

import argparse
import importlib.util
from http.server import ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("answers", type=Path, help="file with one answer per line")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    path = Path(__file__).resolve().parents[1] / "tests" / "plan" / "conftest.py"
    spec = importlib.util.spec_from_file_location("lamarck_llm_stub", path)
    assert spec is not None and spec.loader is not None
    stub_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stub_module)
    stub = stub_module.StubLLM()
    stub.answers(*[line for line in args.answers.read_text(encoding="utf-8").splitlines() if line.strip()])
    server = ThreadingHTTPServer(("127.0.0.1", args.port), stub_module._handler(stub))
    server.daemon_threads = True
    print(
        f"stub LLM on http://127.0.0.1:{args.port}/v1 with {len(stub.script)} scripted answer(s)", flush=True
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
