"""Phase 6: measure retrieval quality (LogoBench format or Vienna codes).

Thin wrapper over `logo-sim eval`; run with --help for the options.
"""

import sys

from logo_similarity.cli import main

if __name__ == "__main__":
    main(["eval", *sys.argv[1:]])
