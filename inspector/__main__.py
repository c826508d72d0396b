"""`python -m inspector` runs the CLI."""

from .cli import main

if __name__ == "__main__":  # NOTE: not when the recorder's verdict process (spawned) imports this module as its main
    main()
