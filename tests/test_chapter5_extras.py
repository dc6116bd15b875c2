"""Chapter 5's ImageNet-1K cells (section 5.3.2), Table B.T1's generators and Figure 5.3's t-SNE, as cells."""

import pandas as pd
import pytest

from dc_lib.core.config import get_profile
from dc_lib.runs import listing, time_curve
from dc_lib.runs.experiments import Runner
from dc_lib.thesis import chapter5


@pytest.fixture
def smoke_runner(tiny_root, tmp_path):
    return Runner(get_profile("smoke"), tmp_path / "out", data_root=tiny_root, device="cpu")


def test_imagenet_runs_dm_and_random_at_1_10_50_in_paper_with_the_4_block_convnet():
    cells = chapter5.planned_imagenet(get_profile("paper"))
    assert {(c.ipc, c.method, c.eval_arch) for c in cells} == {(i, m, "convnet_d4") for i in (1, 10, 50)
                                                                for m in ("random", "dm")}
    assert chapter5.planned_imagenet(get_profile("cpu")) == []


def test_without_imagenet_every_thesis_cell_reads_data_not_available_with_the_thesis_number(smoke_runner):
    summary, not_run = chapter5.imagenet_1k(smoke_runner)
    text = chapter5.write_table(smoke_runner, chapter5.IMAGENET, summary, not_run, "ImageNet-1K")
    assert text.count("data not available") == 6
    assert "| imagenet1k | 50 | dm | convnet_d4 | convnet_d4 |  | data not available | 0 | 11.4" in text
    assert (smoke_runner.out_dir / "table_text-5.3.2-imagenet1k.md").is_file()


def test_table_b_t1_has_the_thesis_methods_with_the_generators_condensing_as_generator():
    cells = chapter5.planned_b_t1(get_profile("paper"))
    assert {c.method for c in cells} == {"random", "gmmn", "vae", "biggan", "mmd", "dm"}
    assert {c.condense_arch for c in cells if c.method in ("gmmn", "vae", "biggan")} == {"generator"}
    thesis = listing.thesis_cells("B.T1")
    assert all(listing.contains(cells, c) for c in thesis) and len(cells) == len(thesis)


def test_the_smoke_run_of_table_b_t1_evaluates_every_generators_samples(smoke_runner):
    summary, not_run = chapter5.table_b_t1(smoke_runner)
    assert not_run == [] and set(summary.method) == {"random", "gmmn", "vae", "biggan", "mmd", "dm"}
    rows = smoke_runner.rows("B.T1")
    assert rows[rows.method == "vae"].budget.iloc[0].endswith(";generator_steps=2")
    assert (smoke_runner.out_dir / "generators" / "mnist_vae_set0.pt").is_file()


def test_figure_5_3_places_the_sets_chapters_3_to_5_made_and_says_which_are_missing(smoke_runner):
    chapter5.table_5_1(smoke_runner)  # makes the DM set; no chapter 3 or 4 folder is reused here
    points, lines = chapter5.figure_5_3(smoke_runner)
    assert set(points.source) == {"real", "dm"} and (points.source == "dm").sum() == 3
    assert lines[0].startswith("DC mnist 1 ipc: no set") and lines[2] == "DM mnist 1 ipc: drawn"
    assert len(pd.read_csv(smoke_runner.out_dir / "figure_5.3_points.csv")) == len(points)


def test_table_5_3_condenses_dsa_with_convnet_bn_and_dm_with_the_four_bn_networks_each_evaluated_on_all():
    cells = chapter5.planned_5_3(get_profile("paper"))
    assert len(cells) == 20 and {c.eval_arch for c in cells} == set(chapter5.TABLE_5_3_ARCHS)
    assert {c.condense_arch for c in cells if c.method == "dsa"} == {"convnet_bn"}
    assert {c.condense_arch for c in cells if c.method == "dm"} == set(chapter5.TABLE_5_3_ARCHS)
    assert all(listing.contains(cells, c) for c in listing.thesis_cells("5.3"))


def test_table_5_3_in_cpu_condenses_no_dm_set_with_resnet18_bn_but_evaluates_every_set_on_it():
    cells = chapter5.planned_5_3(get_profile("cpu"))
    assert "resnet18_bn" not in {c.condense_arch for c in cells}
    assert len(cells) == 16 and {c.eval_arch for c in cells} == set(chapter5.TABLE_5_3_ARCHS)


def test_table_5_3s_dm_condenses_with_the_average_pooling_resnet_and_dsa_with_chapter_4s_k(tiny_root, tmp_path):
    from dataclasses import replace

    cpu = Runner(get_profile("cpu"), tmp_path, data_root=tiny_root, device="cpu")
    real = cpu.data("mnist")
    dm, dsa = (next(c for c in chapter5.planned_5_3(get_profile("paper")) if c.method == m and c.condense_arch == a)
               for m, a in (("dm", "resnet18_bn"), ("dsa", "convnet_bn")))
    assert cpu.method_config(replace(dm, dataset="mnist"), real).arch == "resnet18_ap_bn"
    # at 10 ipc chapter 4 gives its DSA sets more outer iterations than DC's
    dsa_10 = replace(dsa, dataset="mnist", ipc=10)
    assert cpu.profile.chapter4.dsa_iterations_multi != cpu.profile.gm_iterations_multi
    assert f";K_gm={cpu.profile.chapter4.dsa_iterations_multi};" in cpu.cell_budget(dsa_10, real)


def test_figure_5_4_records_each_snapshots_accuracy_and_seconds_and_a_rerun_times_nothing_again(smoke_runner,
                                                                                                  monkeypatch):
    curve = chapter5.figure_5_4(smoke_runner)
    dataset, ipc, _ = smoke_runner.profile.chapter5.figure_5_4
    assert set(curve.method) == {"dsa", "dm"} and (curve.dataset == dataset).all() and (curve.ipc == ipc).all()
    assert curve[curve.method == "dm"].iteration.max() == smoke_runner.profile.dm_iterations
    assert (curve.seconds > 0).all()

    def no_timing(*args, **kwargs):
        raise AssertionError("a recorded snapshot was timed again")

    monkeypatch.setattr(time_curve, "timed_snapshots", no_timing)
    assert chapter5.figure_5_4(smoke_runner).equals(curve)
    assert "DSA's finished set" in chapter5.write_figure_5_4(smoke_runner, curve)
    from dc_lib.runs.jobs import Aggregator

    aggregator = Aggregator(smoke_runner.profile, smoke_runner.out_dir, data_root=smoke_runner.data_root, device="cpu")
    assert chapter5.figure_5_4(aggregator).equals(curve)


def test_an_aggregating_runner_draws_figure_5_4_from_the_rows_it_finds_and_times_nothing(tiny_root, tmp_path,
                                                                                         monkeypatch):
    from dc_lib.runs.jobs import Aggregator

    def no_timing(*args, **kwargs):
        raise AssertionError("an aggregating runner timed a condensation")

    monkeypatch.setattr(time_curve, "timed_snapshots", no_timing)
    aggregator = Aggregator(get_profile("smoke"), tmp_path / "out", data_root=tiny_root, device="cpu")
    assert chapter5.figure_5_4(aggregator).empty
    assert "no curve" in chapter5.figure_5_4_verdict(chapter5.figure_5_4(aggregator), "CPU")


def test_table_5_4_runs_dm_with_fresh_networks_each_accuracy_group_and_all_of_them():
    cells = chapter5.planned_5_4(get_profile("paper"))
    assert {c.setting for c in cells} == {f"net_distribution={d}" for d in
                                          ("random", "10-20", "20-30", "30-40", "40-50", "50-60", "60-70", ">=70", "all")}
    assert all(listing.contains(cells, c) for c in listing.thesis_cells("5.4"))


def test_the_smoke_run_of_table_5_4_draws_from_the_trained_states_and_lists_empty_groups(smoke_runner):
    summary, not_run = chapter5.table_5_4(smoke_runner)
    done = {s.partition("=")[2] for s in summary.setting}
    assert "all" in done and "random" in done
    assert all(why.startswith("no state of the trained networks") for _, why in not_run)
    assert done | {c.setting.partition("=")[2] for c, _ in not_run} == set(chapter5.DISTRIBUTIONS)
    rows = smoke_runner.rows("5.4")
    assert ";pool_nets=1;pool_epochs=2;pool_keep_every=1;pool_val=20;pool_train=100" in rows[rows.setting == "net_distribution=all"].budget.iloc[0]
    sets, titles = chapter5.figure_b_f2_sets(smoke_runner)
    assert len(sets) == len(done) and "networks: all" in titles
