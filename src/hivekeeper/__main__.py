"""Allow `python -m hivekeeper`."""

from hivekeeper.cli import main

main()
