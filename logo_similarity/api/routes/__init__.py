"""The HTTP routes, one module per resource: ``search``, ``items``, ``index_writes``, ``jobs``, ``catalog``
(classifications) and ``service`` (probes, statistics, metrics, the page). What they share is in ``api/deps.py``;
which key each router needs is decided where the app includes it (``api/app.py``)."""
