"""Importers: timelines from the tools coaches and candidates already keep.

* :func:`engine.importers.csv.import_csv`: a spreadsheet, one row per event, with optional
  contacts and applications sheets (``docs/importing.md`` documents every column).
* :func:`engine.importers.ics.import_ics`: interviews from an RFC 5545 calendar export,
  optionally merged into an existing timeline.

Both return an :class:`Imported`: the timeline as plain data (ready to write as YAML or
JSON) and the notices to show the user. Both validate what they produce with
:func:`engine.timeline.timeline_from_data` and raise :class:`engine.errors.InputError`
with every problem, located in the input file, when anything is wrong.
"""

from __future__ import annotations

from ._common import Imported, dump_timeline

__all__ = ["Imported", "dump_timeline"]
