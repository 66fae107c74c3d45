from logo_similarity.datasets.records import DatasetError, LogoRecord, read_dataset

__all__ = ["DatasetError", "LogoRecord", "read_dataset"]
