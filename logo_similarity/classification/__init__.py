"""Trademark classifications shipped as data: Vienna (figurative elements) and Nice (goods and services)."""

from logo_similarity.classification.nice import NICE_CLASSES, parse_nice
from logo_similarity.classification.vienna import ViennaClassification, ViennaFileError, canonical, load_vienna

__all__ = ["NICE_CLASSES", "ViennaClassification", "ViennaFileError", "canonical", "load_vienna", "parse_nice"]
