"""``python -m perftrack``: the ``perftrack`` command."""

from ._cli import main

main()
