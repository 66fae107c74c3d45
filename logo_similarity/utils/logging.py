"""loguru set-up shared by the CLI, scripts and the service."""

from __future__ import annotations

import sys

from loguru import logger


def configure_logging(level: str = "INFO") -> None:
    """Send logs to stderr at ``level`` (stdout stays free for results and tables)."""
    logger.remove()
    logger.add(sys.stderr, level=level, format="<green>{time:HH:mm:ss}</green> <level>{level: <7}</level> {message}")
