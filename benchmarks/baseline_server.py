"""The ingest baseline: /v1/batch that only validates each event (siyu's Message) and appends it."""

from __future__ import annotations

import argparse
import gzip
import os
from typing import BinaryIO

import orjson
import uvicorn
from fastapi import FastAPI, Request, Response
from pydantic import ValidationError

from siyu.events.schemas import validate_message


def create_app(out: BinaryIO) -> FastAPI:
    """One route: the same gzip/JSON body as Siyu's, validated, appended one event per line."""
    app = FastAPI()

    @app.post("/v1/batch")
    async def batch(request: Request) -> Response:
        body = await request.body()
        if request.headers.get("content-encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        events = orjson.loads(body)["batch"]
        try:
            for event in events:
                validate_message(event)  # as Siyu's check does
        except ValidationError as error:
            return Response(orjson.dumps({"success": False, "error": str(error)}), 400)
        out.write(b"".join(orjson.dumps(event) + b"\n" for event in events))
        out.flush()  # in the OS before the 200, so a killed process keeps it, as Siyu's commit
        answer = {"success": True, "accepted": len(events), "duplicates": 0, "rejected": []}
        return Response(orjson.dumps(answer), media_type="application/json")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True, help="File the events are appended to.")
    args = parser.parse_args()
    with open(args.out, "ab") as out:
        print(f"baseline serving on 127.0.0.1:{args.port} (pid {os.getpid()})", flush=True)
        uvicorn.run(create_app(out), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
