"""Faults in public arguments and in the set handed to evaluate_set (issue 13).

Each bad value used to pass silently (ipc 0: an empty set; num_nets 0: []; epochs -1: an
accuracy without training; NaN pixels: ~10 %) or fail deep inside torch. Now one ValueError
names the argument, the value and what is allowed. No case here trains anything: the checks
run before any work.
"""

from dataclasses import replace

import pytest
import torch

from dc_lib.core import checks
from dc_lib.core.checkpoint import Checkpointing
from dc_lib.core.speed import Speed
from dc_lib.engines.choose import evaluate_set
from dc_lib.engines.evaluation import EvalConfig
from dc_lib.methods.baselines import feature_network, select_forgetting, select_herding, select_k_center, select_random
from dc_lib.methods.distribution_matching import DMConfig, condense_dm, condense_mmd_pixels
from dc_lib.methods.gradient_matching import GMConfig, condense_gm

BAD_IPCS = [0, -2, 1.5, True, "1"]
QUIET = dict(progress=False)
# Each condensation with a one-iteration config of its own method.
DM_AND_GM = [pytest.param(condense_dm, DMConfig(iterations=1), id="condense_dm"),
             pytest.param(condense_gm, GMConfig(iterations=1), id="condense_gm")]
CONDENSERS = [DM_AND_GM[0], pytest.param(condense_mmd_pixels, DMConfig(iterations=1), id="condense_mmd_pixels"),
              DM_AND_GM[1]]


@pytest.mark.parametrize("value", [1, 3, 2**40])
def test_positive_int_accepts_whole_numbers_of_at_least_one(value):
    assert checks.positive_int("ipc", value) == value


@pytest.mark.parametrize("value", BAD_IPCS)
def test_positive_int_rejects_zero_negative_fractional_bool_and_text_naming_the_argument(value):
    with pytest.raises(ValueError, match=r"ipc must be an integer >= 1, got"):
        checks.positive_int("ipc", value)


@pytest.mark.parametrize("condense, config", CONDENSERS)
@pytest.mark.parametrize("ipc", BAD_IPCS)
def test_condensation_rejects_an_ipc_that_is_not_a_positive_int(tiny_real, condense, config, ipc):
    with pytest.raises(ValueError, match=rf"ipc must be an integer >= 1, got {ipc!r}"):
        condense(tiny_real, ipc, config, **QUIET)


@pytest.mark.parametrize("condense, config", DM_AND_GM)
@pytest.mark.parametrize("name, value", [("batch_real", 0), ("batch_real", 2.5), ("iterations", -1)])
def test_condensation_rejects_bad_counts_naming_them(tiny_real, condense, config, name, value):
    with pytest.raises(ValueError, match=rf"{name} must be an integer >= \d, got {value!r}"):
        condense(tiny_real, 1, replace(config, **{name: value}), **QUIET)


@pytest.mark.parametrize("condense, config", DM_AND_GM)
def test_condensation_rejects_a_checkpoint_interval_below_one_naming_it(tiny_real, tmp_path, condense, config):
    with pytest.raises(ValueError, match=r"checkpoint_every must be an integer >= \d, got 0"):
        condense(tiny_real, 1, config, checkpoint=Checkpointing(tmp_path / "run.ckpt", every=0), **QUIET)


def test_condense_gm_rejects_batch_train_zero(tiny_real):
    with pytest.raises(ValueError, match="batch_train must be an integer >= 1, got 0"):
        condense_gm(tiny_real, 1, GMConfig(iterations=1, batch_train=0), **QUIET)


@pytest.mark.parametrize("ipc", BAD_IPCS)
def test_baselines_reject_an_ipc_that_is_not_a_positive_int(tiny_real, ipc):
    net = torch.nn.Identity()
    with pytest.raises(ValueError, match="ipc must be an integer >= 1"):
        select_random(tiny_real, ipc)
    with pytest.raises(ValueError, match="ipc must be an integer >= 1"):
        select_forgetting(tiny_real, ipc, torch.zeros(tiny_real.x_train.shape[0]))
    for select in (select_herding, select_k_center):
        with pytest.raises(ValueError, match="ipc must be an integer >= 1"):
            select(tiny_real, ipc, net)


def test_feature_network_rejects_negative_epochs(tiny_real):
    with pytest.raises(ValueError, match="epochs must be an integer >= 0, got -1"):
        feature_network(tiny_real, epochs=-1, **QUIET)


def _set(real, ipc=1):
    images = real.x_train[:real.info.num_classes * ipc].clone()
    labels = torch.arange(real.info.num_classes).repeat_interleave(ipc)
    return images, labels


EVAL = EvalConfig(num_nets=1, epochs=1, strategy=None)
RUN = dict(seed=0, **QUIET)


@pytest.mark.parametrize("name, value, allowed", [("num_nets", 0, 1), ("num_nets", True, 1), ("epochs", -1, 0),
                                                  ("epochs", 2.0, 0), ("batch_size", 0, 1)])
def test_evaluate_set_rejects_bad_counts_naming_them(tiny_real, name, value, allowed):
    with pytest.raises(ValueError, match=rf"{name} must be an integer >= {allowed}, got {value!r}"):
        evaluate_set(*_set(tiny_real), tiny_real, replace(EVAL, **{name: value}), **RUN)


def test_evaluate_set_rejects_a_set_containing_nan(tiny_real):
    images, labels = _set(tiny_real)
    images[3, 0, 5, 5] = float("nan")
    with pytest.raises(ValueError, match="contains NaN"):
        evaluate_set(images, labels, tiny_real, EVAL, **RUN)


def test_evaluate_set_rejects_images_of_another_shape(tiny_real):
    images, labels = torch.zeros(10, 3, 32, 32), torch.arange(10)
    with pytest.raises(ValueError, match=r"images of shape \(10, 3, 32, 32\), not \(N, 1, 28, 28\)"):
        evaluate_set(images, labels, tiny_real, EVAL, **RUN)


@pytest.mark.parametrize("bad", [10, -1])
def test_evaluate_set_rejects_labels_outside_the_classes(tiny_real, bad):
    images, labels = _set(tiny_real)
    labels[-1] = bad
    with pytest.raises(ValueError, match=r"labels -?\d+\.\.\d+ outside 0\.\.9"):
        evaluate_set(images, labels, tiny_real, EVAL, **RUN)


def test_evaluate_set_rejects_labels_that_do_not_match_the_images(tiny_real):
    images, labels = _set(tiny_real)
    with pytest.raises(ValueError, match="labels of shape"):
        evaluate_set(images, labels[:-1], tiny_real, EVAL, **RUN)
    with pytest.raises(ValueError, match="not integer class indices"):
        evaluate_set(images, labels.float(), tiny_real, EVAL, **RUN)


def test_evaluate_set_rejects_an_empty_set(tiny_real):
    with pytest.raises(ValueError, match="empty"):
        evaluate_set(torch.zeros(0, 1, 28, 28), torch.zeros(0, dtype=torch.long), tiny_real, EVAL, **RUN)


def test_evaluate_set_still_trains_with_epochs_zero(tiny_real):
    """epochs + 1 passes: epochs=0 is one pass, a valid (if short) evaluation."""
    accs = evaluate_set(*_set(tiny_real), tiny_real, replace(EVAL, epochs=0), **RUN, speed=Speed(engine="loop"))
    assert len(accs) == 1 and 0 <= accs[0] <= 100
