from pyrunc.cli import run

run()
