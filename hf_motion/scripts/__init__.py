"""The command-line scripts, inside the package (as trl ships ``trl/scripts``).

Each module has ``make_parser()`` (a :class:`hf_motion.recipe_args.MotionArgumentParser`) and
``main(*dataclasses)``; ``recipes/*.py`` and ``hf-motion <command>`` are thin entry points to them.
No script imports another script: what two scripts share lives in the library.
"""
