"""`python -m animator` and the `animator` command. A Ctrl-C while the command starts (its imports)
or as it ends (after what it wrote is in place) exits 130 in silence, as one in the middle does
with a line; Python's own handling would print a traceback."""


def run() -> int:
    from animator import env, interrupt

    env.idle_threads_sleep()  # before torch loads, in this process and the workers it starts
    interrupt.install()  # before the imports: none is cut by a Ctrl-C half done (see interrupt.py)
    try:
        from animator.cli import main

        return main()
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(run())
