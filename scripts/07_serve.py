"""Phase 7: serve the search API and web page over a built index.

Thin wrapper over `logo-sim serve`; run with --help for the options. Set LOGO_SIM__API__API_KEY first.
"""

import sys

from logo_similarity.cli import main

if __name__ == "__main__":
    main(["serve", *sys.argv[1:]])
