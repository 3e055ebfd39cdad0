"""``python -m igoc``: the ``igoc`` compiler, as the ``igoc`` command runs it."""

import sys

from igoc.cli.igoc import main

if __name__ == "__main__":
    sys.exit(main())
