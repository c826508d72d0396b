"""`python -m inspector` runs the CLI."""

from .cli import main

main()
