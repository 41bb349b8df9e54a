"""Beyond the dashboard: C (compare variants), x (the space a layer makes), S (share), E (export code)."""

from __future__ import annotations

import os

from tui.lazy import lazy

engine = lazy("engine")  # imported when first used: the first frame does not wait for NumPy


class BeyondActions:
    async def action_compare(self) -> None:
        """Variants of the run as it is configured (the dashboard's run waits, paused)."""
        from tui.screens.compare import CompareScreen

        await self.pause()
        try:
            screen = CompareScreen(self.state.config)
        except engine.NetstepError as e:
            self.notify(str(e), title="Cannot compare", severity="error", timeout=8)
            return
        self.push_screen(screen)

    def action_layer_space(self) -> None:
        """The space a hidden layer makes of the input plane, live (space and p still train)."""
        from tui.screens.layer_space import LayerSpaceScreen

        facts = self.state.latest.facts
        if facts.X.shape[1] != 2:
            self.notify(f"the space a layer makes is drawn for 2-D data; this run has {facts.X.shape[1]} inputs",
                        title="Layer space", severity="warning", timeout=6)
            return
        if facts.L < 2:
            self.notify("this network has no hidden layer: its only space is the input plane",
                        title="Layer space", severity="warning", timeout=6)
        self.push_screen(LayerSpaceScreen())

    async def action_share(self) -> None:
        """The run string (engine.share) in a dialog, and on the clipboard by OSC 52."""
        from engine import share
        from tui.screens.share import ShareScreen

        await self.pause()   # the string names a step: the one on screen, not one the worker has passed
        steps = self.state.trainer.step_count
        text = share.encode(self.state.config, steps=steps)
        self.copy_to_clipboard(text)
        self.push_screen(ShareScreen(text, steps))

    def action_export_code(self) -> None:
        """The run as a NumPy script (engine.export), written through a path prompt."""
        from engine import export

        async def write(path):
            if not path:
                return
            for target in (path, export.data_path(path)):
                if os.path.exists(target):
                    self.notify(f"{target} already exists; press E again and type another name",
                                title="Not written", severity="error", timeout=8)
                    return
            try:
                written = await self.own(lambda: export.write(self.state.trainer, path))
            except (OSError, engine.NetstepError) as e:  # ExportError, a name engine.safefile refuses
                self.notify(f"cannot write {path}: {getattr(e, 'strerror', None) or e}", title="Not written",
                            severity="error", timeout=8)
                return
            extra = f" (data in {os.path.basename(written[1])})" if len(written) > 1 else ""
            self.notify(f"wrote {os.path.abspath(written[0])}{extra}: run it with python", timeout=6)

        from tui.screens.path_prompt import PathPrompt   # when first used: the first frame does not wait for it

        self.push_screen(PathPrompt("Write the run as a NumPy script (W1, b1, Z1, A1 ...) to:", "net.py", "Write"),
                         write)
