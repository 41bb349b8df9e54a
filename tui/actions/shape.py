"""The network's shape and the data from the keyboard: y Y j J < > ctrl+z D T k (and `a` per layer).

Each change of shape or data is a new RunConfig built at once (fresh weights from the
same seed, data regenerated from the same seed). Before it, the run as it stood (the
whole trainer: config, weights, optimizer state, history) goes on an undo stack, so
ctrl+z puts it back exactly, at its step. The unit choice (< >) and the boundary's
looks (T, k) are views only: nothing is rebuilt.
"""

from __future__ import annotations

from tui.lazy import lazy
from tui.notify import notify_once

engine = lazy("engine")  # imported when first used: the first frame does not wait for NumPy

UNDO_DEPTH = 16   # runs kept for ctrl+z (each holds its data and history)


class ShapeActions:
    # ----- the panels' wishes (PanelHost extension: the boundary panel calls it) -------------

    def want_plane(self, shape=None, unit=...) -> None:
        """The boundary panel's grid size and the chosen unit: the next plane is made for them."""
        planes = self.state.planes
        before = (planes.shape, planes.unit)
        planes.ask(shape, unit)
        if (planes.shape, planes.unit) != before and not self.state.worker_active:
            self.call_after_refresh(self._replane)

    def _replane(self) -> None:
        if not self.state.worker_active:
            self.state.refresh()
            self.show_all(force=True)

    # ----- rebuilding, undoably ---------------------------------------------------------------

    async def reshape(self, config, message, layer=None) -> bool:
        """Rebuild the run for `config`, keeping the current one for ctrl+z. False if refused."""
        state = self.state
        old = state.trainer
        try:
            await self.own(lambda: state.rebuild(config))
        except engine.NetstepError as e:
            self.notify(str(e), title="Run not changed", severity="error", timeout=8)
            return False
        undo = self.__dict__.setdefault("undo_stack", [])
        undo.append((old, self.view.layer, self.view.unit))
        del undo[:-UNDO_DEPTH]
        if layer is not None:
            self.view.layer = layer
        self.view.unit = None
        self.view.clamp_layer(state.trainer.net.L)
        self.redraw()
        notify_once(self, "shape", f"{message} · ctrl+z undoes", timeout=3)
        return True

    async def action_undo(self) -> None:
        undo = self.__dict__.get("undo_stack") or []
        if not undo:
            notify_once(self, "shape", "nothing to undo: ctrl+z undoes a change of shape or data", timeout=3)
            return
        trainer, layer, unit = undo.pop()
        await self.own(lambda: self.state.install(trainer))
        self.view.layer, self.view.unit = layer, unit
        self.view.clamp_layer(trainer.net.L)
        self.redraw()
        notify_once(self, "shape", f"undone: {trainer.config.describe()} at step {trainer.step_count}", timeout=4)

    # ----- layers and units -------------------------------------------------------------------

    def _shape(self):
        config = self.state.config
        sizes = list(config.sizes)
        hidden = None if isinstance(config.hidden, str) else list(config.hidden)
        return config, sizes, hidden, self.view.clamp_layer(len(sizes) - 1)

    async def action_add_layer(self) -> None:
        """A hidden layer after the chosen one (before the output when the output is chosen), as wide."""
        config, sizes, hidden, l = self._shape()
        L = len(sizes) - 1
        at = l + 1 if l < L else L            # index in sizes of the new layer
        width = sizes[l] if l < L else (sizes[L - 1] if L > 1 else 4)
        sizes.insert(at, width)
        changes = dict(sizes=sizes)
        if hidden is not None:
            hidden.insert(at - 1, hidden[min(at - 1, len(hidden) - 1)] if hidden else "tanh")
            changes["hidden"] = hidden
        await self._apply(config, changes, f"added hidden layer {at} ({width} units)", at)

    async def action_remove_layer(self) -> None:
        config, sizes, hidden, l = self._shape()
        if not 1 <= l < len(sizes) - 1:
            notify_once(self, "shape", "choose a hidden layer with [ ] to remove it (the output layer stays)",
                        timeout=4)
            return
        del sizes[l]
        changes = dict(sizes=sizes)
        if hidden is not None:
            del hidden[l - 1]
            changes["hidden"] = hidden if hidden else engine.activations.HIDDEN[0]
        await self._apply(config, changes, f"removed hidden layer {l}", max(1, l - 1) if l > 1 else 1)

    async def action_add_unit(self) -> None:
        await self._units(+1)

    async def action_remove_unit(self) -> None:
        await self._units(-1)

    async def _units(self, delta):
        config, sizes, hidden, l = self._shape()
        if not 1 <= l < len(sizes) - 1:
            notify_once(self, "shape", "the output layer is as wide as the data's outputs: choose a hidden layer "
                        "with [ ]", timeout=4)
            return
        if sizes[l] + delta < 1:
            notify_once(self, "shape", f"layer {l} has one unit left: Y removes the layer", timeout=3)
            return
        sizes[l] += delta
        what = "added a unit to" if delta > 0 else "removed a unit from"
        await self._apply(config, dict(sizes=sizes), f"{what} layer {l}: {sizes[l]} units", l)

    async def cycle_layer_activation(self) -> None:
        """`a` with per-layer activations: the next activation of the chosen hidden layer only."""
        config, sizes, hidden, l = self._shape()
        if not 1 <= l < len(sizes) - 1:
            notify_once(self, "shape", "choose a hidden layer with [ ] to change its activation", timeout=3)
            return
        now = hidden[l - 1]
        HIDDEN = engine.activations.HIDDEN
        hidden[l - 1] = HIDDEN[(HIDDEN.index(now) + 1) % len(HIDDEN)] if now in HIDDEN else HIDDEN[0]
        await self._apply(config, dict(hidden=hidden), f"layer {l}: {hidden[l - 1]}", l)

    async def _apply(self, config, changes, message, layer):
        try:
            new = config.replace(**changes)
        except engine.NetstepError as e:
            self.notify(str(e), title="Run not changed", severity="error", timeout=8)
            return
        await self.reshape(new, message, layer)

    # ----- looking: the chosen unit, the boundary's looks --------------------------------------

    def action_unit(self, delta: int) -> None:
        """The next / previous unit of the chosen layer; past either end, none (the boundary again)."""
        facts = self.state.latest.facts
        l = self.view.clamp_layer(facts.L)
        n = facts.sizes[l]
        order = [None, *range(n)]
        now = self.view.unit if self.view.unit in order else None
        self.view.unit = order[(order.index(now) + delta) % len(order)]
        unit = self.view.unit
        try:   # the weights panel's cursor goes to the unit's column: its incoming weights
            weights = self.screen.query_one("#weights")
            if unit is not None:
                weights.cursor = (weights.cursor[0], unit)
        except Exception:  # not on this screen
            pass
        self.want_plane(unit=None if unit is None else (l, unit))
        self.redraw()
        name = "Ŷ" if l == facts.L else f"A{l}"
        notify_once(self, "unit", "the decision boundary" if unit is None else f"unit {name}[:, {unit}]",
                    timeout=2)

    def action_toggle_test(self) -> None:
        self.view.show_test = not self.view.show_test
        self.redraw()
        has = self.state.latest.facts.X_test is not None and len(self.state.latest.facts.X_test)
        notify_once(self, "looks", ("test points shown hollow (○)" if has else "this data has no test split: D sets one")
                    if self.view.show_test else "test points hidden", timeout=3)

    def action_toggle_discrete(self) -> None:
        self.view.discrete = not self.view.discrete
        self.redraw()
        notify_once(self, "looks", "boundary: two solid colours" if self.view.discrete else
                    "boundary: paler where the model is unsure", timeout=2)

    def action_data_controls(self) -> None:
        from tui.screens.data_controls import DataControls

        self.push_screen(DataControls())
