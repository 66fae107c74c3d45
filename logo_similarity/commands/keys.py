"""Client keys of the service: ``logo-sim keys create | list | revoke`` (``api/keys.py``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from logo_similarity.api.keys import ROLES, KeyStore
from logo_similarity.commands.options import ConfigOpt, command_settings


def _store(config) -> KeyStore:
    return KeyStore(command_settings(config).api.keys_file)


def keys_create(
    name: Annotated[str, typer.Argument(help="the client's name")],
    role: Annotated[str, typer.Option("--role", help=f"what the key may do: {' or '.join(ROLES)}")] = "search",
    config: ConfigOpt = None,
) -> dict[str, str]:
    """Make a client key; it is shown this once (only its hash is kept)."""
    try:
        return {"client": name, "role": role, "key": _store(config).create(name, role)}
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def keys_list(config: ConfigOpt = None) -> list[dict[str, Any]]:
    """The clients with a key (or a revoked one), their roles and dates; never a key."""
    return _store(config).clients()


def keys_revoke(name: Annotated[str, typer.Argument(help="the client whose key to revoke")],
                config: ConfigOpt = None) -> str:
    """Revoke a client's key at once (the client can be given a new one)."""
    try:
        _store(config).revoke(name)
    except KeyError:
        raise typer.BadParameter(f"client {name!r} has no valid key") from None
    return name


__all__ = ["keys_create", "keys_list", "keys_revoke"]
