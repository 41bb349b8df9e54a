"""Operation mode (n, b), the precision of numbers, and editing a weight by hand.

The operation view (tui/screens/ops.py) is the one owner of op mode: it turns it on
when it mounts and off when it goes; these actions open it and walk the cycle
through the run controller."""

from __future__ import annotations

from tui import fmt

# The screens are imported when first opened: the first frame does not wait for them.


class OpActions:
    def _follow_op(self) -> None:
        """Show the op's layer in the network and weights panels."""
        op = self.state.stepper.current
        if self.state.op_mode and op is not None and op.layer:
            self.view.layer = op.layer

    async def _enter_ops(self) -> None:
        from tui.screens.ops import OpScreen

        await self.pause()
        if not isinstance(self.screen, OpScreen):
            if self.screen.is_modal:
                return
            await self.push_screen(OpScreen())  # mounted when this returns: op mode is on (its owner)

    def leave_op_view(self) -> None:
        """Back on the dashboard: snapshots of the run as it stands, not as at an op."""
        state = self.state
        if not state.worker_active:
            state.refresh()
        self.call_after_refresh(self.redraw)

    def _show_op(self) -> None:
        self._follow_op()
        self.state.refresh()
        self.show_all(force=True)

    async def action_next_op(self) -> None:
        """One matrix operation forward (computing it at the newest)."""
        await self._enter_ops()
        state = self.state
        op = state.next_op()
        self._show_op()
        if op is None and state.trainer.halted is not None:
            self.notify(state.trainer.halted.message, title="Step refused", severity="error", timeout=12)

    async def action_prev_op(self) -> None:
        """One operation back (computes nothing)."""
        await self._enter_ops()
        state = self.state
        if state.stepper.current is None:
            self.notify("no operation yet: n computes the first", timeout=2)
        elif state.stepper.cursor == 0:
            self.notify("this is the oldest operation kept", timeout=2)
        state.prev_op()
        self._show_op()

    async def show_op(self, position: int) -> None:
        """Show the op at `position` in the cycle on show (the trace log's highlight)."""
        opv = self.state.latest.op_view
        if opv is None or not 0 <= position < len(opv.ops):
            return
        self.state.goto_op(opv.ops[position])
        self._show_op()

    async def open_op(self, position: int) -> None:
        """The op at `position` of the cycle on show, every number of it."""
        from tui.screens.op_detail import OpDetailScreen

        await self.show_op(position)
        opv = self.state.latest.op_view
        if opv is not None:
            self.push_screen(OpDetailScreen(opv.op, opv.position, self.view.full_precision))

    def action_toggle_precision(self) -> None:
        self.view.full_precision = not self.view.full_precision
        self.notify("numbers: " + ("exact (every digit of the float64)" if self.view.full_precision
                                   else "rounded to 4 significant digits"), timeout=2)
        self.redraw()

    async def action_edit_weight(self) -> None:
        """Type a value for the weight under the weights panel's cursor."""
        from tui.screens.edit_weight import EditWeightScreen

        from tui.widgets.weights.weights_panel import WeightsPanel

        panels = [p for p in self.screen.query(WeightsPanel) if p.display]
        if not panels:
            self.notify("show the weights panel (v) and choose an entry with the arrows first", timeout=4)
            return
        await self.pause()
        panel = panels[0]
        name, index, what = panel.entry()
        value = float(self.state.trainer.net.params[name][index])

        async def apply(new):
            if new is None:
                return
            try:
                edit = await self.own(lambda: self.state.edit_weight(name, index, new))
            except ValueError as e:
                self.notify(str(e), title="Weight not changed", severity="error")
                return
            mb, ma = edit.metrics_before, edit.metrics_after
            self.notify(f"{edit.label} = {edit.new!r}: loss {mb['loss']:.6g} → {ma['loss']:.6g}, "
                        f"{score_word(mb)} {fmt.score(mb)[1]} → {fmt.score(ma)[1]} (no training step)",
                        timeout=6)

        self.push_screen(EditWeightScreen(name, index, value, what), apply)


def score_word(metrics) -> str:
    """"accuracy", or "R²" for a regression run (tui.fmt.score)."""
    label = fmt.score(metrics)[0]
    return "accuracy" if label == "acc" else label
