"""The pygocd agent: runs jobs for a server. Imports only `pygocd.protocol` and the standard
library (httpx only when a test hands it an in-process transport), so it installs with few
dependencies and idles small (DESIGN §1)."""
