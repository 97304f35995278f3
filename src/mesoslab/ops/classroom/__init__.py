"""The classroom (DESIGN §7, issue 17): learners' mesoslab reports to the instructor's.

Learner side: :mod:`.membership` (the join record and token), :mod:`.events` (what an event
is, built from a verify, a step run, a hint or a step change), :mod:`.redact` (nothing secret
leaves), :mod:`.outbox` (events queued on disk first), :mod:`.sender` (background delivery
with retry and backoff), :mod:`.emit` (the hooks verify, run and the TUI call) and
:mod:`.join` (join/leave over HTTP).

Instructor side: :mod:`.store` (SQLite, WAL, migrations), :mod:`.view` (learners × steps,
stuck learners, completion counts), :mod:`.server` (Starlette app: join, events, dashboard,
live stream), :mod:`.serve` (uvicorn, the bind address, the join line and its QR code) and
:mod:`.report` (json/csv/junit for grading).

Nothing here imports Textual; the web framework is imported only by the server modules.
"""
