"""Phase 2: mask the text of every logo of a dataset (OCR + inpainting), keeping the text and boxes.

Thin wrapper over `logo-sim mask`; run with --help for the options.
"""

import sys

from logo_similarity.cli import main

if __name__ == "__main__":
    main(["mask", *sys.argv[1:]])
