from pygocd.cli import main

raise SystemExit(main())
