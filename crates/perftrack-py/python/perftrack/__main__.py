"""``python -m perftrack``: the ``perftrack`` command."""

from ._cli import main

if __name__ == "__main__":
    main()
