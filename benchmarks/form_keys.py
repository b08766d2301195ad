"""What a key typed in the form and a Tab between fields cost the app: CPU and full layouts
of the main screen, as shipped and with every line updated and the footer rebuilt as before.

    .venv/bin/python benchmarks/form_keys.py [--rounds 5]

In process, at 120x40, the demo pair, random weights, no run. Each round types three digits
into Iterations and Compute size and moves between them with Tab and Shift+Tab, waiting after
each key until the form has checked itself. "before" puts back, in this process, what the
app did until the change measured here: every Static line of the form and the run panel
updated after each check even when its text stayed (nst_tui/app/widgets/lines.py), and the
footer rebuilt on every focus change (nst_tui/app/widgets/keys_footer.py). The two variants
alternate, so load on the machine hits both alike. A benchmark: it measures and prints.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def put_back_the_old_updates() -> None:
    """In this process only: every `show(...)` an update, and Textual's own footer rebuild."""
    from textual.widgets import Footer

    from nst_tui.app.widgets import keys_footer, lines

    def update(line, content) -> None:
        line.update(content)

    for module in list(sys.modules.values()):
        if getattr(module, "show", None) is lines.show:
            module.show = update
    keys_footer.KeysFooter.bindings_changed = Footer.bindings_changed


def count_layouts() -> list[int]:
    from textual.screen import Screen

    counter = [0]
    layout = Screen._refresh_layout

    def counted(self, *args, **kwargs):
        counter[0] += 1
        return layout(self, *args, **kwargs)

    Screen._refresh_layout = counted
    return counter


async def settle(pilot) -> None:
    """Until no check is pending and the screen has caught up."""
    form = pilot.app.main.form
    for _ in range(200):
        await pilot.pause(0.02)
        if not form._check_pending and pilot.app.form_state is form.last_check:
            break
    await pilot.pause()


async def one_round(config, layouts: list[int]) -> dict[str, tuple[float, int]]:
    from nst_tui.app.app import NSTApp
    from nst_tui.app.remembered import Remembered

    app = NSTApp(Remembered(config), folder=Path("/tmp"))
    costs: dict[str, list[tuple[float, int]]] = {"key": [], "tab": []}
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(10):
            await settle(pilot)
        app.main.query_one("#iterations").focus()
        await settle(pilot)
        for kind, keys in [
            ("key", "123"),
            ("tab", ["tab"]),
            ("key", "456"),
            ("tab", ["shift+tab"]),
        ]:
            for key in keys:
                cpu, before = time.process_time(), layouts[0]
                await pilot.press(key)
                await settle(pilot)
                costs[kind].append((time.process_time() - cpu, layouts[0] - before))
    return {
        kind: (statistics.mean(c for c, _ in v), statistics.mean(n for _, n in v))
        for kind, v in costs.items()
    }


def demo_config(root: Path):
    """The demo pair of `root`'s styles/ at 128 px, random weights, on the CPU."""
    from nst_engine.settings.config import RunConfig
    from nst_engine.settings.values import Size

    styles = root / "styles"
    return RunConfig.from_flat(
        content=styles / "rocket.jpg",
        style=styles / "swirl.jpg",
        iterations=200,
        size=Size(longest=128),
        weights="random",
        device="cpu",
    )


def measure(variant: str, rounds: int) -> dict[str, tuple[float, float]]:
    """In this process: `rounds` app starts of `variant`; the mean CPU (s) and layouts of a
    key typed and of a Tab."""
    import torch

    torch.set_num_threads(1)
    if variant == "before":
        put_back_the_old_updates()
    config = demo_config(ROOT)
    layouts = count_layouts()
    runs = [asyncio.run(one_round(config, layouts)) for _ in range(rounds)]
    return {
        kind: (statistics.mean(r[kind][0] for r in runs), statistics.mean(r[kind][1] for r in runs))
        for kind in ("key", "tab")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="alternations of the variants")
    parser.add_argument("--rounds", type=int, default=2, help="app starts per variant and repeat")
    parser.add_argument("--one", choices=VARIANTS, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.one:  # a child: one variant, its figures as one JSON line
        print(json.dumps(measure(arguments.one, arguments.rounds)))
        return
    figures: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}
    for _ in range(arguments.repeats):
        for variant in VARIANTS:  # each in a process of its own: "before" patches the app
            child = subprocess.run(
                [sys.executable, __file__, "--one", variant, "--rounds", str(arguments.rounds)],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            figures[variant].append(json.loads(child.stdout.strip().splitlines()[-1]))
    print(f"{'variant':12} {'CPU per key':>12} {'layouts':>8} {'CPU per Tab':>12} {'layouts':>8}")
    means = {}
    for variant, rows in figures.items():
        means[variant] = {
            kind: [statistics.median(row[kind][i] for row in rows) for i in (0, 1)]
            for kind in ("key", "tab")
        }
        key, tab = means[variant]["key"], means[variant]["tab"]
        print(
            f"{variant:12} {key[0] * 1000:9.1f} ms {key[1]:8.2f} {tab[0] * 1000:9.1f} ms {tab[1]:8.2f}"
        )
    shipped, before = means["as shipped"], means["before"]
    print(
        f"as shipped / before: CPU per key {shipped['key'][0] / before['key'][0]:.2f}, "
        f"per Tab {shipped['tab'][0] / before['tab'][0]:.2f}"
    )


VARIANTS = ("before", "as shipped")

if __name__ == "__main__":
    main()
