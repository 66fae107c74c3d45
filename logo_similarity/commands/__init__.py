"""The Python API, which is also the CLI: each function here is registered as-is as a ``logo-sim`` command.

They return data (reports, results, metric dicts) and never print; ``logo_similarity.cli`` renders what they
return. Options are flat keywords (autofaiss style); ``config`` is a YAML file of settings overrides. One module
per kind of command: ``data`` (datasets), ``indexes`` (build and change an index), ``queries`` (search, eval),
``names`` (the name review loop, edits), ``models`` (training data, training), ``serving`` (serve, export),
``watch`` (watch lists and runs), ``keys`` (client keys), ``demo``; ``options`` holds what they share.
"""

from logo_similarity.commands.data import dataset_build, mask, prepare
from logo_similarity.commands.demo import demo
from logo_similarity.commands.indexes import add, delete, index, rollback
from logo_similarity.commands.keys import keys_create, keys_list, keys_revoke
from logo_similarity.commands.models import train, train_data
from logo_similarity.commands.names import edit, names_apply, names_review
from logo_similarity.commands.queries import evaluate, search
from logo_similarity.commands.serving import export, serve
from logo_similarity.commands.watch import (watch_alerts, watch_create, watch_delete, watch_list, watch_report,
                                            watch_run, watch_triage)

__all__ = ["add", "dataset_build", "delete", "demo", "edit", "evaluate", "export", "index", "keys_create", "keys_list",
           "keys_revoke", "mask", "names_apply",
           "names_review", "prepare", "rollback", "search", "serve", "train", "train_data", "watch_alerts",
           "watch_create", "watch_delete", "watch_list", "watch_report", "watch_run", "watch_triage"]
