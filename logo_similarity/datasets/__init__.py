from logo_similarity.datasets.records import DatasetError, LogoRecord, read_dataset, reject_entry, write_rejects

__all__ = ["DatasetError", "LogoRecord", "read_dataset", "reject_entry", "write_rejects"]
