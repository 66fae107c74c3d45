"""Phase 5: export the feature extractor to ONNX (spec in its metadata).

Thin wrapper over `logo-sim export`; run with --help for the options.
"""

import sys

from logo_similarity.cli import main

if __name__ == "__main__":
    main(["export", *sys.argv[1:]])
