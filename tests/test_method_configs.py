"""Method configs: the thesis's hyperparameters as dataclass defaults, profiles changing only budgets,
speed-only switches kept apart, and a saved set recording the config it was made with."""

import dataclasses
import inspect

import pytest
import torch

from dc_lib.core.checkpoint import Checkpointing
from dc_lib.core.config import get_profile
from dc_lib.core.speed import Speed
from dc_lib.core.synset import SyntheticSet
from dc_lib.engines.choose import evaluate_set, evaluate_whole_dataset
from dc_lib.engines.evaluation import EvalConfig
from dc_lib.methods.distribution_matching import DMConfig, condense_dm, condense_mmd_pixels
from dc_lib.methods.gradient_matching import GMConfig, condense_gm
from dc_lib.runs.experiments import Runner
from dc_lib.runs.results import Cell


def test_dm_defaults_are_the_thesis_hyperparameters():
    c = DMConfig()
    assert (c.iterations, c.batch_real, c.momentum, c.init, c.arch) == (20000, 256, 0.5, "real", "convnet")
    assert c.lr is None and c.strategy == "auto"  # eta_S by ipc, the dataset's DSA strategy


def test_dc_defaults_are_the_thesis_hyperparameters_and_dsa_starts_from_real_images():
    dc = GMConfig()
    assert (dc.iterations, dc.lr_img, dc.lr_net, dc.batch_real, dc.init, dc.metric) == (1000, 0.1, 0.01, 256, "noise",
                                                                                       "ours")
    assert dc.dsa_strategy is None and dc.method == "dc"
    dsa = GMConfig.dsa("mnist")
    assert dsa.init == "real" and dsa.method == "dsa" and "flip" not in dsa.dsa_strategy  # no flips on digits


def test_evaluation_defaults_are_the_authors_recipe():
    e = EvalConfig()
    assert (e.epochs, e.num_nets, e.lr, e.momentum, e.weight_decay, e.batch_size) == (1000, 20, 0.01, 0.9, 5e-4, 256)


def test_speed_switches_are_not_fields_of_any_method_config():
    speed_only = {f.name for f in dataclasses.fields(Speed)} | {"compile", "chunk", "workers"}
    for config in (DMConfig, GMConfig, EvalConfig):
        assert not speed_only & {f.name for f in dataclasses.fields(config)}, config.__name__


@pytest.mark.parametrize("fn", [condense_dm, condense_gm, condense_mmd_pixels, evaluate_set, evaluate_whole_dataset])
def test_public_condensation_and_evaluation_take_a_handful_of_arguments_besides_the_config(fn):
    assert len(inspect.signature(fn).parameters) <= 8


def test_an_unknown_engine_is_refused_when_the_speed_is_made():
    with pytest.raises(ValueError, match="unknown engine"):
        Speed(engine="fastest")


def test_a_saved_set_records_the_config_it_was_made_with(tiny_real, tmp_path):
    config = DMConfig(iterations=2, batch_real=4, lr=0.5)
    syn = condense_dm(tiny_real, 1, config, seed=3, progress=False)
    syn.save(tmp_path / "s.pt")
    record = SyntheticSet.load(tmp_path / "s.pt").config
    assert record == config.record(tiny_real, 1, 3)
    assert (record["iterations"], record["batch_real"], record["lr"], record["seed"]) == (2, 4, 0.5, 3)
    assert record["strategy"] == "color_crop_cutout_scale_rotate"  # "auto" as it ran on MNIST


def test_a_speed_switch_leaves_the_recorded_config_unchanged(tiny_real):
    config = DMConfig(iterations=1, batch_real=6)
    plain = condense_dm(tiny_real, 1, config, progress=False, speed=Speed(real_chunk=None))
    chunked = condense_dm(tiny_real, 1, config, progress=False, speed=Speed(real_chunk=4))
    assert plain.config == chunked.config
    torch.testing.assert_close(plain.images, chunked.images)


def test_a_bare_checkpoint_path_resumes_like_a_checkpointing(tiny_real, tmp_path):
    plan = Checkpointing.of(tmp_path / "c.ckpt", every=7)
    assert plan == Checkpointing(tmp_path / "c.ckpt", 7) and Checkpointing.of(None) is None


def test_profiles_produce_configs_that_differ_only_in_budget_fields(tiny_root, tmp_path):
    budget_fields = {"iterations", "batch_real"}
    cell = Cell(5, "5.1", "mnist", 10, "dm")
    configs = []
    for name in ("smoke", "cpu", "paper"):
        runner = Runner(get_profile(name), tmp_path / name, data_root=tiny_root, device="cpu")
        configs.append(runner.method_config(cell, runner.data("mnist")))
    for other in configs[1:]:
        differing = {f.name for f in dataclasses.fields(DMConfig)
                     if getattr(other, f.name) != getattr(configs[0], f.name)}
        assert differing <= budget_fields
    assert configs[2] == DMConfig()  # the paper profile is the thesis's DM


def test_the_runner_condenses_a_dsa_cell_with_the_dsa_config(tiny_root, tmp_path):
    runner = Runner(get_profile("smoke"), tmp_path, data_root=tiny_root, device="cpu")
    config = runner.method_config(Cell(4, "4.1", "mnist", 1, "dsa"), runner.data("mnist"))
    assert isinstance(config, GMConfig) and config.method == "dsa" and config.init == "real"


def test_the_mlp_condenses_with_eta_s_0_01_under_dcs_own_distance_and_0_1_under_the_flattened_ones(tiny_root,
                                                                                                 tmp_path):
    runner = Runner(get_profile("smoke"), tmp_path, data_root=tiny_root, device="cpu")
    real = runner.data("mnist")

    def lr_img(arch, distance):
        return runner.method_config(Cell(3, "A.T7", "mnist", 1, "dc", arch, arch, f"distance={distance}"), real).lr_img

    assert lr_img("mlp", "ours_layerwise_cosine") == 0.01
    assert lr_img("mlp", "euclidean") == lr_img("mlp", "cosine") == 0.1
    assert lr_img("convnet", "ours_layerwise_cosine") == 0.1
    dsa = Cell(4, "4.3", "mnist", 1, "dsa", "mlp", "mlp", "")
    assert runner.method_config(dsa, real).lr_img == 0.1  # the exception is DC's (Table 3.2), not DSA's


def test_a_saved_set_of_another_eta_s_is_not_reused_and_the_rows_record_the_rate(tiny_root, tmp_path):
    runner = Runner(get_profile("smoke"), tmp_path, data_root=tiny_root, device="cpu")
    real = runner.data("mnist")
    cell = Cell(3, "3.2", "mnist", 1, "dc", "mlp", "mlp", "")
    made = runner.synset(cell)
    assert made.config["lr_img"] == 0.01
    made.config = {**made.config, "lr_img": 0.1}  # as a set saved before the MLP had its own rate
    made.save(runner.synset_path(cell, 0))
    assert runner.find_synset(cell) is None
    assert "lr_img=0.01" in runner.cell_budget(cell, real)
    assert "lr_img" not in runner.cell_budget(Cell(3, "3.2", "mnist", 1, "dc", "convnet", "mlp", ""), real)


def test_all_is_a_real_chunk_but_not_a_micro_batch():
    assert Speed(real_chunk="all").real_chunk == "all"
    with pytest.raises(ValueError, match="micro_batch must be"):
        Speed(micro_batch="all")
