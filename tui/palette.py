"""Command palette (ctrl+p): every action of the trainer by name, from tui.keys."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.keys import KEYS


def _key(k) -> str:
    return k.display or k.key.split(",")[0]


class TrainerCommands(Provider):
    """Every key's action, searchable by what it does."""

    def _commands(self):
        for k in KEYS:
            if k.action == "help":
                yield f"Help: show every key ({_key(k)})", k
            else:
                yield f"{k.help} ({_key(k)})", k

    async def discover(self) -> Hits:
        for text, k in self._commands():
            yield DiscoveryHit(text, partial(self.app.run_action, k.action), help=k.group)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, k in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self.app.run_action, k.action), text=text, help=k.group)
