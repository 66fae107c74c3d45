"""Build an L3D-format dataset from EUIPO / WIPO ST.66 trademark XML: a thin wrapper over `logo-sim dataset build`.

    python legacy/build_l3d.py EUTM_DIFF_2024*.zip --out data/l3d --images path/to/images

Same arguments and behaviour as the CLI (resumable, rejects with reasons, report/ with plots); the code lives in
logo_similarity/datasets/ (st66.py reads the XML, l3d_builder.py writes the dataset).
"""

import sys

from logo_similarity.cli import main

if __name__ == "__main__":
    main(["dataset", "build", *sys.argv[1:]])
