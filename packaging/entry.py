"""Entry point of the frozen program (PyInstaller): the same ``main`` as the installed one."""

import multiprocessing
import sys

from integrationsplaner.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
