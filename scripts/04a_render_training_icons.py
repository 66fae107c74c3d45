"""Phase 4a: render the training logos (pinned npm icon sets) = `logo-sim train-data`."""

import sys

from logo_similarity.cli import main

if __name__ == "__main__":
    main(["train-data", *sys.argv[1:]])
