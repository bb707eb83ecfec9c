"""Events as JSON lines with ECS-style field names (Elastic, OpenSearch, Splunk, jq)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from ..core.events import BaseEvent


class JsonlSink:
    """Writes one ECS document per event; ``-`` writes to standard output."""

    def __init__(self, path: str | Path, stream: IO[str] | None = None) -> None:
        self.path = str(path)
        self._own = stream is None
        # Kept open across calls and closed by close(): a sink outlives any one with-block.
        self.stream: IO[str] = stream if stream is not None else Path(path).open("w")  # noqa: SIM115
        self.count = 0

    def __call__(self, event: BaseEvent) -> None:
        self.stream.write(json.dumps(event.ecs(), separators=(",", ":")) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._own:
            self.stream.close()
        else:
            self.stream.flush()
