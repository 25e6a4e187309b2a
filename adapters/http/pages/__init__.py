"""The web wallet and the explorer: static pages (HTML, CSS, ES modules, no build step) that
call the node's JSON API from the browser, served under /wallet and /explorer; their assets
under /web/. The wallet's brand (name, logo, colours, listed tokens) is the node home's
`brand.json` over the embedded defaults. Also `exit.all`, the exits and their challenges,
which OMG's watcher API lists nowhere but an explorer for auditors must show."""
from __future__ import annotations

from adapters.http.pages.routes import router

__all__ = ["router"]
