"""The app's command-palette entries and the rows of its help screen."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.binding import Binding, BindingType

if TYPE_CHECKING:
    from workbench.tui.app import WorkbenchApp


def key_rows(app: WorkbenchApp, bindings: Iterable[BindingType]) -> Iterable[tuple[str, str]]:
    """(keys, what they do) for every binding, as the footer would spell the keys."""
    for binding in bindings:
        if isinstance(binding, Binding):
            keys = " / ".join(app.get_key_display(Binding(key, "")) for key in binding.key.split(","))
            yield keys, binding.description
    yield "ctrl+p", "Command palette"


def system_commands(app: WorkbenchApp) -> Iterable[SystemCommand]:
    yield SystemCommand("Materialize the focused asset", "with its stale upstream (m)", partial(app.action_materialize, "focused"))
    yield SystemCommand("Materialize everything stale", "every stale, missing or failed asset (M)", partial(app.action_materialize, "stale"))
    yield SystemCommand("Materialize the filtered selection", "what the / filter shows, with its upstream", partial(app.action_materialize, "filter"))
    yield SystemCommand("Force-materialize the focused asset", "rerun it even if fresh", partial(app.action_materialize, "force"))
    yield SystemCommand("Filter assets", "a selection expression, as on the CLI (/)", app.action_filter)
    yield SystemCommand("Toggle the list view", "a compact tree by group, for very large graphs (v)", app.action_toggle_view)
    yield SystemCommand("Toggle group captions", "group names above the nodes of each group (g)", app.action_toggle_groups)
    yield SystemCommand("Reload the project", "import the asset modules again (r)", app.action_reload)
    yield SystemCommand("Show the keys", "the help screen (?)", app.action_help)
