from logo_similarity.reporting.sheet import QueryReport, write_html_sheet, write_png_sheet
from logo_similarity.reporting.table import results_table

__all__ = ["QueryReport", "results_table", "write_html_sheet", "write_png_sheet"]
