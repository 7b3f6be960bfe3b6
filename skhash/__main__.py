"""``python -m skhash``: the main job (see :mod:`skhash._main_job`)."""

from ._main_job import main

if __name__ == "__main__":
    main()
