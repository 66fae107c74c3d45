from logo_similarity.preprocessing.loader import (
    CorruptImageError,
    DecompressionBombError,
    EmptyImageError,
    ImageLoadError,
    ImageTooLargeError,
    ImageTooSmallError,
    UnsupportedFormatError,
    load_image,
)
from logo_similarity.preprocessing.normalize import normalize_logo, pad_to_square, to_model_input

__all__ = [
    "CorruptImageError",
    "DecompressionBombError",
    "EmptyImageError",
    "ImageLoadError",
    "ImageTooLargeError",
    "ImageTooSmallError",
    "UnsupportedFormatError",
    "load_image",
    "normalize_logo",
    "pad_to_square",
    "to_model_input",
]
