"""``python -m lamarck.cli ...``: the same as the ``lamarck`` script."""

import sys

from lamarck.cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
