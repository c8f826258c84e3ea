"""``python -m juice_packaging.publish``: the publish-repo command."""

from juice_packaging.publish.cli import main

raise SystemExit(main())
