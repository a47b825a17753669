"""Export formats: rows streamed as a JSON array, as JSON Lines or as CSV.

These renderers turn an iterable of row dicts into an iterator of byte chunks (many rows a
chunk, so a streamed response does not write once per row). They take part in DRF's content
negotiation (`?format=json|jsonl|csv`) like any renderer, but the export views hand their
`stream()` to a `StreamingHttpResponse` instead of rendering a finished body.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence

from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer

ROWS_PER_CHUNK = 500

_encode = json.JSONEncoder(allow_nan=False).encode


def _batches(rows: Iterable[dict]) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == ROWS_PER_CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


class RowStreamRenderer(BaseRenderer):
    """Base of the streamed formats; `stream()` is their whole job."""

    charset = "utf-8"
    extension = ""

    def stream(self, rows: Iterable[dict], columns: Sequence[str]) -> Iterator[bytes]:
        """Encodes the rows; `columns` are the field names in order (the CSV header)."""
        raise NotImplementedError


class JSONArrayRenderer(RowStreamRenderer):
    media_type = "application/json"
    format = "json"
    extension = "json"

    def stream(self, rows: Iterable[dict], columns: Sequence[str]) -> Iterator[bytes]:
        opening = "["
        for batch in _batches(rows):
            yield (opening + ",\n".join(map(_encode, batch))).encode()
            opening = ",\n"
        yield b"[]\n" if opening == "[" else b"]\n"


class JSONLinesRenderer(RowStreamRenderer):
    media_type = "application/x-ndjson"
    format = "jsonl"
    extension = "jsonl"

    def stream(self, rows: Iterable[dict], columns: Sequence[str]) -> Iterator[bytes]:
        for batch in _batches(rows):
            yield ("\n".join(map(_encode, batch)) + "\n").encode()


class CSVRenderer(RowStreamRenderer):
    """One header line, then one line per row: None is an empty cell, booleans are True/False
    (as pandas writes them) and floats keep every digit, so pandas reads the values back
    exactly."""

    media_type = "text/csv"
    format = "csv"
    extension = "csv"

    def stream(self, rows: Iterable[dict], columns: Sequence[str]) -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for batch in _batches(rows):
            writer.writerows(batch)
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
        if buffer.tell():
            yield buffer.getvalue().encode()


EXPORT_RENDERERS = (JSONArrayRenderer, JSONLinesRenderer, CSVRenderer)


class FormatParamNegotiation(DefaultContentNegotiation):
    """`?format=` picks the renderer whatever the Accept header says (scripts and browsers send
    all sorts); an unknown format is a 400 that names the known ones."""

    def select_renderer(self, request, renderers, format_suffix=None):
        wanted = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        if not wanted:
            return super().select_renderer(request, renderers, format_suffix)
        for renderer in renderers:
            if renderer.format == wanted:
                return renderer, renderer.media_type
        known = ", ".join(renderer.format for renderer in renderers)
        raise ValidationError({"format": [f"Unknown format {wanted!r}; use one of: {known}."]})
