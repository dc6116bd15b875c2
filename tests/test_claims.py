"""The thesis's ordering claims, checked on a table's summary: a verdict per group, with its evidence."""

import math

import pandas as pd

from dc_lib.runs.claims import CLAIMS, Claim, check, claims_text, setting_value
from dc_lib.runs.listing import thesis_cells

DC_BEATS_HERDING = Claim("T", "DC beats herding", "somewhere", better={"method": "dc"}, than={"method": "herding"})


def summary(*rows, table="T"):
    """Summary rows from (dataset, ipc, method, mean, std[, budget, thesis_mean])."""
    out = []
    for r in rows:
        dataset, ipc, method, mean, std, *rest = r
        budget = rest[0] if rest else "K=1"
        thesis = rest[1] if len(rest) > 1 else math.nan
        out.append({"table": table, "dataset": dataset, "ipc": ipc, "method": method, "condense_arch": "convnet",
                    "eval_arch": "convnet", "setting": "", "budget": budget, "n": 3, "sets": 1, "mean": mean,
                    "std": std, "thesis_mean": thesis})
    return pd.DataFrame(out)


def test_a_claim_holds_in_a_group_where_the_better_cell_has_the_higher_mean():
    [line] = check(DC_BEATS_HERDING, {"T": summary(("mnist", 1, "dc", 91.0, 0.1), ("mnist", 1, "herding", 88.0, 0.5))})
    assert line.startswith("- mnist, 1 ipc: **holds** at this budget: dc 91.0 ± 0.1 vs herding 88.0 ± 0.5")
    assert "do not overlap" in line


def test_a_claim_does_not_hold_where_the_other_cell_is_higher_and_says_the_ranges_overlap():
    [line] = check(DC_BEATS_HERDING, {"T": summary(("mnist", 1, "dc", 88.0, 0.5), ("mnist", 1, "herding", 88.2, 0.5))})
    assert "**does not hold**" in line and "the gap, -0.2, is within the ±1 std ranges" in line


def test_each_group_gets_its_own_verdict():
    lines = check(DC_BEATS_HERDING, {"T": summary(("mnist", 1, "dc", 91.0, 0.1), ("mnist", 1, "herding", 88.0, 0.1),
                                                  ("mnist", 10, "dc", 95.0, 0.1), ("mnist", 10, "herding", 96.0, 0.1))})
    assert ["**holds**" in lines[0], "**does not hold**" in lines[1]] == [True, True]


def test_a_claim_against_a_set_compares_with_its_best_member():
    claim = Claim("T", "DC beats the coresets", "s", better={"method": "dc"}, than={"method": ("random", "herding")})
    [line] = check(claim, {"T": summary(("mnist", 1, "dc", 90.0, 0.1), ("mnist", 1, "random", 60.0, 1.0),
                                        ("mnist", 1, "herding", 89.0, 0.5))})
    assert "the best of random, herding: herding 89.0 ± 0.5" in line and "**holds**" in line


def test_several_better_cells_must_each_beat_the_others():
    claim = Claim("T", "DC and DSA beat herding", "s", better={"method": ("dc", "dsa")}, than={"method": "herding"})
    [line] = check(claim, {"T": summary(("mnist", 1, "dc", 90.0, 0.1), ("mnist", 1, "dsa", 87.0, 0.1),
                                        ("mnist", 1, "herding", 88.0, 0.1))})
    assert "**does not hold**" in line and "the lowest of them, dsa 87.0 ± 0.1" in line


def test_a_claim_that_allows_ties_holds_on_equal_means():
    claim = Claim("T", "BN at least IN", "s", better={"method": "dc"}, than={"method": "herding"}, ties=True)
    [line] = check(claim, {"T": summary(("mnist", 1, "dc", 90.0, 0.1), ("mnist", 1, "herding", 90.0, 0.1))})
    assert "**holds**" in line


def test_best_among_all_compares_with_every_other_cell_of_the_group():
    claim = Claim("T", "DC is best", "s", better={"method": "dc"})
    [line] = check(claim, {"T": summary(("mnist", 1, "dc", 90.0, 0.1), ("mnist", 1, "kcenter", 91.0, 0.1))})
    assert "**does not hold**" in line and "kcenter 91.0" in line


def test_a_claim_can_compare_with_another_tables_rows_and_names_that_table():
    claim = Claim("T", "beats random", "s", better={"method": "dc"}, than={"method": "random"}, than_table="U")
    summaries = {"T": summary(("mnist", 1, "dc", 70.0, 1.0)), "U": summary(("mnist", 1, "random", 50.0, 1.0), table="U")}
    [line] = check(claim, summaries)
    assert "vs random (Table U) 50.0 ± 1.0" in line and "**holds**" in line


def test_a_difference_of_budget_between_the_two_rows_is_stated():
    [line] = check(DC_BEATS_HERDING, {"T": summary(("mnist", 1, "dc", 91.0, 0.1, "K=1;eval_aug=dsa;K_gm=6"),
                                                   ("mnist", 1, "herding", 88.0, 0.5, "K=1;eval_aug=classic"))})
    assert "budgets differ in eval_aug (dsa vs classic)" in line and "K_gm" not in line


def test_the_same_comparison_on_the_thesis_numbers_is_given():
    [line] = check(DC_BEATS_HERDING, {"T": summary(("mnist", 1, "dc", 85.0, 0.1, "K=1", 91.7),
                                                   ("mnist", 1, "herding", 88.0, 0.5, "K=1", 89.2))})
    assert "**does not hold**" in line and line.endswith("Thesis: 91.7 vs 89.2, holds.")


def test_a_claim_whose_cells_were_not_run_says_it_was_not_checked():
    assert check(DC_BEATS_HERDING, {"T": summary(("mnist", 1, "dc", 91.0, 0.1))})[0].startswith("- not checked")
    assert check(DC_BEATS_HERDING, {})[0].startswith("- not checked")


def test_a_tables_claims_are_printed_under_a_heading_with_their_source():
    text = claims_text("5.1", {"5.1": summary(("mnist", 1, "dm", 89.0, 0.5), ("mnist", 1, "random", 46.0, 0.5),
                                              table="5.1")})
    assert text.startswith("### The thesis's claims, checked on these rows")
    assert "**DM beats random real images** (Table 5.1" in text and "**holds**" in text
    assert claims_text("no such table", {}) == ""


def test_every_claim_names_a_table_of_the_thesis_and_cells_it_prints():
    for claim in CLAIMS:
        grid = thesis_cells(claim.table)
        assert grid, claim.table
        column, value = next(iter(claim.better.items()))
        values = value if isinstance(value, tuple) else (value,)
        assert any((getattr(c, column) if hasattr(c, column) else setting_value(c.setting, column)) in values
                   for c in grid), (claim.table, claim.says)


def test_a_claim_can_select_and_group_by_a_key_of_the_rows_setting():
    claim = Claim("T", "ours is best per op", "s", better={"scheme": "ours"}, per=("dataset", "aug"))
    rows = summary(("mnist", 1, "dsa", 90.0, 0.1), ("mnist", 1, "dc_aug", 80.0, 0.1),
                   ("mnist", 1, "dsa", 70.0, 0.1), ("mnist", 1, "dc_aug", 75.0, 0.1))
    rows["setting"] = ["scheme=ours;aug=crop", "scheme=c;aug=crop", "scheme=ours;aug=flip", "scheme=c;aug=flip"]
    crop, flip = check(claim, {"T": rows})
    assert crop.startswith("- mnist, crop: **holds**") and flip.startswith("- mnist, flip: **does not hold**")


def test_an_override_only_one_row_records_is_stated_as_a_difference():
    [line] = check(DC_BEATS_HERDING, {"T": summary(("mnist", 1, "dc", 91.0, 0.1, "K=1;lr_img=0.01"),
                                                   ("mnist", 1, "herding", 88.0, 0.5, "K=1"))})
    assert "budgets differ in lr_img (0.01 vs default)" in line
