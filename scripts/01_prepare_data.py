"""Phase 1: check a dataset's images and write clean L3D metadata + rejects.

Thin wrapper over `logo-sim prepare`; run with --help for the options.
"""

import sys

from logo_similarity.cli import main

if __name__ == "__main__":
    main(["prepare", *sys.argv[1:]])
