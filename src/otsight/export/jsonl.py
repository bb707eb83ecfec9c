"""Events as JSON lines with ECS-style field names (Elastic, OpenSearch, Splunk, jq)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import orjson

from ..core.events import BaseEvent, EventBatch
from ..decode.flows import FlowColumns
from ..decode.view import BatchView


class JsonlSink:
    """Writes one ECS document per event; the path ``-`` writes to standard output.

    orjson, not the standard library, because serialising is most of the cost of writing
    hundreds of thousands of events per capture.
    """

    def __init__(self, path: str | Path, stream: IO[bytes] | None = None) -> None:
        self.path = str(path)
        if stream is None and self.path == "-":
            stream = sys.stdout.buffer
        self._own = stream is None
        # Kept open across calls and closed by close(): a sink outlives any one with-block.
        self.stream: IO[bytes] = stream if stream is not None else Path(path).open("wb")  # noqa: SIM115
        self.count = 0

    name = "jsonl"

    def __call__(self, event: BaseEvent) -> None:
        self.stream.write(orjson.dumps(event.ecs(), option=orjson.OPT_APPEND_NEWLINE))
        self.count += 1

    on_event = __call__

    def on_events(self, batch: EventBatch) -> None:
        """A batch's documents, built from its columns when it can (no event objects).

        Each document is serialised and written as soon as it is made (its parts shared with
        the next ones are never changed), so nothing piles up: kept documents would cost the
        garbage collector more than one orjson call for many saves, and orjson's bytes carry
        several kilobytes of spare room each.
        """
        dumps = orjson.dumps
        line = orjson.OPT_APPEND_NEWLINE
        write = self.stream.write
        for doc in batch.ecs_docs(shared=True):
            write(dumps(doc, option=line))
        self.count += len(batch)

    def on_batch(self, view: BatchView) -> None:
        """Packets are not events: nothing to write."""

    def on_flows(self, flows: FlowColumns) -> None:
        """Flow records are not written (yet)."""

    def finish(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        if self._own:
            self.stream.close()
        else:
            self.stream.flush()
