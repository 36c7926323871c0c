"""``python -m integrationsplaner``."""

import sys

from integrationsplaner.cli import main

sys.exit(main())
