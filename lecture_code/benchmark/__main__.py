"""The command ``python -m lecture_code.benchmark`` (:func:`lecture_code.benchmark.run.main`)."""

import sys

from lecture_code.benchmark.run import main

if __name__ == "__main__":
    sys.exit(main())
