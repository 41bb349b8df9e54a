"""One line with the run's vital signs: playing or paused, step, epoch, loss, accuracy,
learning rate, optimizer and steps per second (only while playing, so a paused
screen is the same from one moment to the next). Narrow terminals drop the least
important fields first."""

from __future__ import annotations

from rich.text import Text

from tui import fmt
from tui.widgets.panel import Panel
from tui.widgets.text_lines import TextLines

NUM_W = 9   # the widest a number may be on this line (rounded to fit, never cut)


def _num(v, sig=4):
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    return fmt.num(v, NUM_W, sig)


def _rate(r):
    if r is None:
        return "—"
    if r >= 10_000:
        return f"{r / 1000:.0f}k"
    if r >= 1000:
        return f"{r / 1000:.1f}k"
    return f"{r:.0f}"


class StatusBar(Panel):
    """The status line. A Panel without a border, so it updates with the others."""

    MIN_INTERVAL = 0.0
    _shown = None

    def compose(self):
        self.line = TextLines(id="status-line")
        yield self.line

    def draw(self, snap) -> None:
        if snap.halted is not None:
            badge = (" STOPPED ", "bold white on red")
        elif snap.playing:
            badge = (" PLAYING ", "bold black on green")
        else:
            badge = (" PAUSED  ", "bold black on yellow")
        m = snap.metrics
        acc = m.get("accuracy")
        cfg = snap.config
        hidden = cfg.hidden if isinstance(cfg.hidden, str) else ",".join(cfg.hidden)
        # (priority, label, value, style): lower priority goes first when room runs out
        fields = [
            (9, "step", f"{snap.step:,}", "bold"),
            (6, "epoch", f"{snap.epoch:,}", "bold"),
        ]
        if getattr(snap, "loss_lags", False) or (snap.playing and getattr(snap, "loss_step", None) is not None):
            # Playing, the full data is evaluated 4 times a second (tui/run/controller.py
            # EVAL_INTERVAL): the loss, accuracy and test numbers that follow are of this step
            # (said on every playing frame, so the line does not jump when it is the current one).
            fields.append((9, "", f"at step {snap.loss_step:,}:", "dim"))
        fields += [
            (9, "train loss", _num(snap.loss), "bold"),   # full data, at the weights on show
            # a regression run shows R² where a classification run shows accuracy (tui.fmt.score)
            (9, *fmt.score(m), "bold green" if acc == 1.0 else "bold"),
        ]
        if snap.clipped:  # the latest step's gradient was cut down to the clipping threshold
            fields.append((8, "grad", "clipped", "bold yellow"))
        if "test_accuracy" in m or "test_r2" in m:
            fields.append((7, "test", fmt.score(m, "test_")[1], "bold"))
        fields += [
            (8, "lr", _num(snap.lr, 3), "bold"),
            (5, "opt", snap.optimizer, "bold"),
            (3 if snap.speed is None else 7, "speed", "full" if snap.speed is None else f"≤{snap.speed}/s",
             "bold" if snap.speed is None else "bold cyan"),
            (8 if snap.playing else 0, "steps/s", _rate(snap.steps_per_s), "bold"),  # paused: only "—", goes first
            (1, "", f"{cfg.dataset} · {hidden} · {cfg.init} · {cfg.loss} · seed {cfg.seed}", "dim italic"),
        ]
        notice = getattr(self.app, "classroom_notice", "")   # served: "watched by <teacher>"
        if notice:
            fields.insert(0, (10, "", f" {notice} ", "bold white on magenta"))
        width = self.size.width or 120
        budget = width - len(badge[0])
        keep = list(fields)
        while keep and sum(len(f[1]) + len(f[2]) + 3 for f in keep) > budget:
            keep.remove(min(keep, key=lambda f: f[0]))
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(*badge)
        for f in fields:
            if f not in keep:
                continue
            _, label, value, style = f
            if label:
                t.append(f"  {label} ", style="dim")
            else:
                t.append("   ")
            t.append(value, style=style)
        if t != self._shown:   # only this one line repaints, and only when it changed
            self._shown = t
            self.line.update(t, layout=False)
