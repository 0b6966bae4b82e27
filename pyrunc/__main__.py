import sys

from pyrunc.cli import main

sys.exit(main())
