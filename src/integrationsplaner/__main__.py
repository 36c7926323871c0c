"""``python -m integrationsplaner``."""

import sys

from integrationsplaner.cli import main

if __name__ == "__main__":  # not when a worker process of the import loads it again
    sys.exit(main())
