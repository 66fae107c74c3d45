"""Phase 3: embed a dataset and build the search index.

Thin wrapper over `logo-sim index`; run with --help for the options.
"""

import sys

from logo_similarity.cli import main

if __name__ == "__main__":
    main(["index", *sys.argv[1:]])
