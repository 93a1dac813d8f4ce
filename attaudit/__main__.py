import sys

from attaudit.cli.main import main

sys.exit(main())
