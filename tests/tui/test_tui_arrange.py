"""Where the graph and the detail pane go, for the sizes users have."""

from __future__ import annotations

from workbench.tui.arrange import DETAIL_WIDTH, Arrangement, arrange


def test_a_tall_graph_that_fits_beside_the_detail_pane_goes_beside_it() -> None:
    assert arrange((160, 45), (90, 20)) == Arrangement(stacked=False, width=90, columns=91)


def test_a_short_graph_goes_over_the_detail_pane_at_full_width() -> None:
    assert arrange((120, 32), (121, 7)) == Arrangement(stacked=True, width=119, rows=8)
    assert arrange((80, 24), (121, 7)) == Arrangement(stacked=True, width=79, rows=8)
    assert arrange((160, 45), (40, 5)) == Arrangement(stacked=True, width=159, rows=6)  # narrow too: tables get the width


def test_a_wide_graph_of_middle_height_goes_over_the_pane_while_the_pane_keeps_its_rows() -> None:
    assert arrange((120, 45), (300, 20)) == Arrangement(stacked=True, width=119, rows=21)


def test_a_wide_tall_graph_is_zoomed_out_beside_the_detail_pane() -> None:
    arranged = arrange((120, 32), (300, 40))
    assert not arranged.stacked and arranged.columns == 120 - DETAIL_WIDTH and arranged.width < arranged.columns


def test_without_the_detail_pane_the_graph_takes_the_screen() -> None:
    assert arrange((80, 24), (300, 40), detail=False) == Arrangement(stacked=False, width=79)
