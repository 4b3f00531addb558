"""Entry point inside a kernel: `python3 -I /opt/kernel/runner` (the directory is run as a script)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from runner.server import main

if __name__ == "__main__":
    sys.exit(main())
