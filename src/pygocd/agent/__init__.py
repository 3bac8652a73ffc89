"""The pygocd agent: runs jobs for a server. Imports only `pygocd.protocol`, the standard
library and httpx, so it installs with few dependencies and idles small (DESIGN §1)."""

import sys

# httpx's optional command-line client imports click, rich and pygments when they happen to be
# installed (they are in a development environment): several MB an agent never uses.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
