import sys

from local_api.server import main

sys.exit(main())
