"""Phase 4: fine-tune the embedder with MoCo v3 = `logo-sim train`; run with --help for every flag."""

import sys

from logo_similarity.cli import main

if __name__ == "__main__":
    main(["train", *sys.argv[1:]])
