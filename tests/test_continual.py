"""Continual learning with condensed memories (dc_lib.runs.continual): the behaviours issue 15 pins."""

import math

import pytest
import torch

from dc_lib.runs import continual
from dc_lib.runs.continual import (EEILConfig, GDumbConfig, as_rgb32, class_memory, class_orders, class_steps,
                                   kd_loss, run_eeil, run_gdumb, subset_classes, train_stage)
from dc_lib.core.models import get_network
from dc_lib.core.seeding import make_generator
from dc_lib.runs.results import ResultStore

TINY_GDUMB = GDumbConfig(ipc=2, orders=(0, 1), nets=1, epochs=1, dm_iterations=1, dsa_iterations=1,
                         batch_real=4, feature_epochs=1)
TINY_EEIL = EEILConfig(memory_ipc=2, iterations=2, finetune_iterations=1, test_per_task=20, batch=16,
                       dc_iterations=1, dm_iterations=1, batch_real=4, runs=(0,))


def test_kd_loss_is_t_squared_kl_of_the_softened_outputs_on_a_hand_computed_case():
    student, teacher = torch.tensor([[0.0, 0.0]]), torch.tensor([[2.0, 0.0]])
    # T = 2: teacher softened to softmax([1, 0]) = (e/(e+1), 1/(e+1)); student uniform (1/2, 1/2)
    p = math.e / (math.e + 1)
    kl = p * math.log(p / 0.5) + (1 - p) * math.log((1 - p) / 0.5)
    assert kd_loss(student, teacher, 2.0).item() == pytest.approx(4 * kl, rel=1e-6)


def test_kd_loss_vanishes_when_the_student_matches_the_teacher():
    z = torch.randn(5, 10)
    assert kd_loss(z, z, 2.0).item() == pytest.approx(0.0, abs=1e-6)


def test_a_kd_weight_without_a_previous_model_is_refused(tiny_real):
    net = get_network("convnet", 1, 10, (28, 28))
    with pytest.raises(ValueError, match="needs the previous stage's model"):
        train_stage(net, tiny_real.x_train, tiny_real.y_train, iterations=1, lr=0.01, config=TINY_EEIL,
                    kd_weight=1.0, gen=make_generator(0))


def test_class_orders_are_the_authors_numpy_permutations():
    import numpy as np

    np.random.seed(3)
    expected = [int(c) for c in np.random.permutation(10)]
    assert class_orders(10, [3])[0] == expected


def test_a_split_that_does_not_divide_the_classes_is_refused():
    with pytest.raises(ValueError, match="3 steps do not divide 10 classes"):
        class_steps(list(range(10)), 3)


def test_class_steps_cut_the_order_into_equal_groups():
    assert class_steps([4, 2, 0, 1, 3, 5], 3) == [[4, 2], [0, 1], [3, 5]]


def test_subset_classes_relabels_in_the_given_order(tiny_real):
    sub = subset_classes(tiny_real, [7, 2])
    assert sub.info.num_classes == 2 and sub.info.class_names() == ("7", "2")
    assert torch.equal(sub.x_train[sub.y_train == 0], tiny_real.x_train[tiny_real.y_train == 7])
    assert set(sub.y_test.tolist()) == {0, 1}


# DSA at 1 ipc: above it the inner loop (T matches, network steps on the set) costs seconds.
@pytest.mark.parametrize("method, ipc", [("random", 2), ("herding", 2), ("dsa", 1), ("dm", 2)])
def test_a_memory_holds_ipc_images_of_exactly_the_step_classes(tiny_real, method, ipc):
    x, y = class_memory(tiny_real, [3, 8], method, ipc, seed=0, dm_iterations=1, gm_iterations=1, batch_real=4,
                        feature_epochs=1)
    assert x.shape == (2 * ipc, 1, 28, 28) and y.tolist() == [3] * ipc + [8] * ipc


def test_random_and_herding_memories_are_built_only_from_the_step_classes(tiny_real):
    x, _ = class_memory(tiny_real, [3, 8], "herding", 2, seed=0, dm_iterations=1, gm_iterations=1, batch_real=4,
                        feature_epochs=1)
    pool = tiny_real.x_train[(tiny_real.y_train == 3) | (tiny_real.y_train == 8)]
    assert all(any(torch.equal(img, m) for m in pool) for img in x)


def test_a_dm_class_memory_is_the_same_whichever_classes_share_its_step(tiny_real, tmp_path):
    a, _ = class_memory(tiny_real, [3, 8], "dm", 2, seed=0, dm_iterations=2, gm_iterations=1, batch_real=4,
                        feature_epochs=1)
    b, _ = class_memory(tiny_real, [1, 3], "dm", 2, seed=0, dm_iterations=2, gm_iterations=1, batch_real=4,
                        feature_epochs=1)
    assert torch.equal(a[:2], b[2:])


def test_a_memory_larger_than_a_class_is_refused(tiny_real):
    with pytest.raises(ValueError, match="too few in class"):
        class_memory(tiny_real, [3, 8], "random", 13, seed=0, dm_iterations=1, gm_iterations=1, batch_real=4,
                     feature_epochs=1)


def test_gdumb_grows_the_memory_by_ipc_per_new_class_and_retrains_from_scratch(tiny_real, tmp_path, monkeypatch):
    seen = []
    real_evaluate = continual.evaluate_set

    def recording(images, labels, real, config, **kw):
        seen.append((images.shape[0], real.info.num_classes, sorted(set(labels.tolist()))))
        return real_evaluate(images, labels, real, config, **kw)

    monkeypatch.setattr(continual, "evaluate_set", recording)  # evaluate_set builds a fresh network each call
    store = ResultStore(tmp_path / "r.csv")
    run_gdumb(tiny_real, "random", 5, TINY_GDUMB, store, profile="smoke", budget="b", progress=False)
    first_order = seen[:5]
    assert [s[0] for s in first_order] == [4, 8, 12, 16, 20]  # 2 new classes x 2 ipc per step
    assert [s[1] for s in first_order] == [2, 4, 6, 8, 10]  # tested on the seen classes only
    assert all(s[2] == list(range(s[1])) for s in first_order)


def test_gdumb_writes_one_row_per_order_step_and_network_and_a_rerun_skips_them(tiny_real, tmp_path, monkeypatch):
    store = ResultStore(tmp_path / "r.csv")
    run_gdumb(tiny_real, "random", 2, TINY_GDUMB, store, profile="smoke", budget="b", progress=False)
    rows = store.load()
    assert len(rows) == 2 * 2 and set(rows.setting) == {"cl=gdumb;steps=2;stage=1", "cl=gdumb;steps=2;stage=2"}
    monkeypatch.setattr(continual, "evaluate_set", lambda *a, **k: pytest.fail("recomputed"))
    run_gdumb(tiny_real, "random", 2, TINY_GDUMB, store, profile="smoke", budget="b", progress=False)


def test_as_rgb32_gives_one_input_space_for_every_task(tiny_real):
    rgb = as_rgb32(tiny_real, "tiny32")
    assert rgb.x_train.shape[1:] == (3, 32, 32) and rgb.info.channel == 3 and rgb.info.mean == (0.5, 0.5, 0.5)
    assert torch.equal(rgb.x_train[:, 0], rgb.x_train[:, 2])


def _two_tasks_scored(tiny_real, tmp_path, monkeypatch):
    """An EEIL run over two tasks whose test accuracies are 80 (task 1 after T1), then 60 and 40 (after T2)."""
    tasks = [as_rgb32(tiny_real, "a32"), as_rgb32(tiny_real, "b32")]
    scores = iter([80.0, 60.0, 40.0])
    monkeypatch.setattr(continual, "test_accuracy", lambda *a, **k: next(scores))
    store = ResultStore(tmp_path / "r.csv")
    run_eeil(tasks, "random", False, TINY_EEIL, store, stream="a>b", profile="smoke", budget="b", progress=False)
    return store.load()


def test_the_eeil_stage_score_averages_over_the_seen_tasks(tiny_real, tmp_path, monkeypatch):
    rows = _two_tasks_scored(tiny_real, tmp_path, monkeypatch)
    assert rows[rows.metric == "test_acc"].sort_values("setting").value.tolist() == [80.0, 50.0]


def test_eeil_records_each_seen_tasks_own_accuracy_beside_the_mean(tiny_real, tmp_path, monkeypatch):
    after_t2 = _two_tasks_scored(tiny_real, tmp_path, monkeypatch).query("metric == 'task_acc' and setting.str.contains('stage=T2')", engine="python")
    assert after_t2.sort_values("net_idx").value.tolist() == [60.0, 40.0]
    assert "a32" in after_t2.note.iloc[0]


def test_eeil_adds_memory_ipc_images_per_class_after_each_stage_but_the_last(tiny_real, tmp_path, monkeypatch):
    tasks = [as_rgb32(tiny_real, f"t{i}32") for i in range(3)]
    sizes = []
    real_train = continual.train_stage

    def recording(net, x, y, **kw):
        sizes.append((kw["desc"].split()[1], x.shape[0], kw["kd_weight"]))
        return real_train(net, x, y, **kw)

    monkeypatch.setattr(continual, "train_stage", recording)
    run_eeil(tasks, "herding", True, TINY_EEIL, ResultStore(tmp_path / "r.csv"), stream="s", profile="smoke",
             budget="b", progress=False)
    n = tiny_real.x_train.shape[0]
    # T1 alone (no teacher, so no KD); T2: data + 20 memory, then 20 fresh + 20 memory; T3: + 40 memory
    assert sizes == [("herding", n, 0.0), ("herding", n + 20, 1.0), ("balanced", 40, 1.0),
                     ("herding", n + 40, 1.0), ("balanced", 60, 1.0)]


def test_tasks_of_different_input_spaces_are_refused(tiny_real, tmp_path):
    with pytest.raises(ValueError, match="one input and label space"):
        run_eeil([tiny_real, as_rgb32(tiny_real, "x32")], "random", False, TINY_EEIL,
                 ResultStore(tmp_path / "r.csv"), stream="s", profile="smoke", budget="b", progress=False)


def test_an_unknown_memory_method_lists_the_valid_ones(tiny_real):
    with pytest.raises(ValueError, match="valid: random, herding, dc, dsa, dm"):
        class_memory(tiny_real, [0], "gan", 1, seed=0, dm_iterations=1, gm_iterations=1, batch_real=1,
                     feature_epochs=1)


def test_sharing_the_first_stage_and_model_free_memories_gives_the_numbers_of_fresh_runs(tiny_real, tmp_path):
    tasks = [as_rgb32(tiny_real, "a32"), as_rgb32(tiny_real, "b32")]
    fresh, shared_store, shared = ResultStore(tmp_path / "a.csv"), ResultStore(tmp_path / "b.csv"), {}
    for kd in (False, True):
        run_eeil(tasks, "dm", kd, TINY_EEIL, fresh, stream="s", profile="smoke", budget="b", progress=False)
    for kd in (False, True):
        run_eeil(tasks, "dm", kd, TINY_EEIL, shared_store, stream="s", profile="smoke", budget="b", progress=False,
                 shared=shared)
    assert ("T1", 0) in shared and ("memory", "dm", 0, 0) in shared
    assert fresh.load().value.tolist() == shared_store.load().value.tolist()
