import sys

from exactbn.cli.main import main

sys.exit(main())
