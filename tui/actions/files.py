"""The run's config and its files: c, ctrl+s, ctrl+o, e."""

from __future__ import annotations

import csv
import io
import os

from tui.lazy import lazy

engine = lazy("engine")  # imported when first used: the first frame does not wait for NumPy
# The dialogs are imported when first opened: the first frame does not wait for them.


class FileActions:
    def action_config(self) -> None:
        from tui.screens.config_form import ConfigForm

        async def apply(config):
            await self.own(lambda: self.state.rebuild(config))

        def done(config):
            if config is not None:
                self.notify("run rebuilt: " + config.describe(), timeout=3)

        self.push_screen(ConfigForm(self.state.config, apply), done)

    def action_save(self) -> None:
        from tui.screens.path_prompt import PathPrompt

        async def save(path):
            if not path:
                return
            try:
                saved = await self.own(lambda: engine.io.save(self.state.trainer, path))
            except (OSError, engine.NetstepError) as e:  # NetstepError: a name or place engine.safefile refuses
                self.notify(f"cannot save to {path}: {getattr(e, 'strerror', None) or e}", title="Not saved",
                            severity="error")
                return
            self.notify(f"saved to {saved}", timeout=4)

        self.push_screen(PathPrompt("Save the run (weights, config, history) to:", "netstep-run.npz", "Save"),
                         save)

    def action_load(self) -> None:
        from tui.screens.path_prompt import PathPrompt

        async def load(path):
            if not path:
                return
            try:
                await self.own(lambda: self.state.load(path))
            except engine.NetstepError as e:
                self.notify(str(e), title="Not loaded", severity="error", timeout=10)
                return
            except OSError as e:
                self.notify(f"cannot read {path}: {e.strerror or e}", title="Not loaded", severity="error")
                return
            self.view.clamp_layer(self.state.trainer.net.L)
            self.notify(f"loaded {path}: step {self.state.trainer.step_count}", timeout=4)

        self.push_screen(PathPrompt("Load a run saved with ctrl+s from:", "netstep-run.npz", "Load"), load)

    def action_export(self) -> None:
        from tui.screens.path_prompt import PathPrompt

        async def export(path):
            if not path:
                return
            try:
                rows = await self.own(lambda: list(self.state.trainer.history.csv_rows()))
                text = io.StringIO()
                csv.writer(text, lineterminator="\n").writerows(rows)
                data = text.getvalue().encode("utf-8")
                engine.io.atomic_write(path, lambda f: f.write(data))
            except (OSError, engine.NetstepError) as e:
                self.notify(f"cannot write {path}: {getattr(e, 'strerror', None) or e}", title="Not exported",
                            severity="error")
                return
            self.notify(f"history ({len(rows) - 1} rows) written to {os.path.abspath(path)}", timeout=4)

        self.push_screen(PathPrompt("Export the training history (CSV) to:", "netstep-history.csv", "Export"),
                         export)

