"""Table 5.4's trained networks: kept states grouped by validation accuracy, and DM drawing from them."""

import pytest
import torch

from dc_lib.core.models import get_network
from dc_lib.methods import distribution_matching as dm
from dc_lib.methods.distribution_matching import DMConfig, condense_dm
from dc_lib.methods.network_pool import NetworkPool, group_states, in_group, train_pool


@pytest.mark.parametrize("acc, group, inside", [(30.0, "30-40", True), (40.0, "30-40", False), (71.0, ">=70", True),
                                                (69.9, ">=70", False), (5.0, "all", True)])
def test_a_state_belongs_to_the_group_of_its_validation_accuracy(acc, group, inside):
    assert in_group(acc, group) is inside


def test_an_unknown_group_is_refused():
    with pytest.raises(ValueError, match="Unknown network group"):
        in_group(50.0, "55-65")


def test_the_pool_keeps_each_network_before_its_first_step_on_a_doubling_schedule_then_every_keep_every(
        tiny_real, tmp_path):
    pool = train_pool(tiny_real, nets=2, epochs=12, keep_every=5, val_size=20, train_size=40, progress=False,
                      cache=tmp_path / "p.pt")
    # one step per epoch (40 images): states before step 1 and after steps 1, 2, 4 (doubling below 5), 5, 10
    assert len(pool.states) == len(pool.val_acc) == 2 * 6
    assert all(0 <= a <= 100 for a in pool.val_acc)
    again = train_pool(tiny_real, nets=2, epochs=12, keep_every=5, val_size=20, train_size=40, progress=False,
                       cache=tmp_path / "p.pt")
    assert again.val_acc == pool.val_acc


def test_group_states_picks_the_states_in_the_group():
    pool = NetworkPool("convnet", [{"w": torch.tensor(float(i))} for i in range(3)], [15.0, 35.0, 38.0], {})
    assert [s["w"].item() for s in group_states(pool, "30-40")] == [1.0, 2.0]
    assert group_states(pool, "60-70") == []


def test_dm_draws_its_embedding_network_from_the_given_states(tiny_real, tmp_path, monkeypatch):
    net = get_network("convnet", 1, 10, (28, 28))
    states = [{k: torch.full_like(v, 0.5) if v.is_floating_point() else v for k, v in net.state_dict().items()}]
    torch.save(states, tmp_path / "group.pt")
    seen = []
    draw = dm._draw_embedding

    def watching(*args, **kwargs):
        embed, bn = draw(*args, **kwargs)
        seen.append(embed.__self__.state_dict())
        return embed, bn

    monkeypatch.setattr(dm, "_draw_embedding", watching)
    condense_dm(tiny_real, 1, DMConfig(iterations=2, batch_real=4, networks=str(tmp_path / "group.pt")), progress=False)
    assert len(seen) == 2 and all(torch.equal(s[k], states[0][k]) for s in seen for k in states[0])


def test_a_file_without_states_is_refused_with_its_name(tiny_real, tmp_path):
    torch.save([], tmp_path / "empty.pt")
    with pytest.raises(ValueError, match="empty.pt holds no network states"):
        condense_dm(tiny_real, 1, DMConfig(iterations=1, batch_real=4, networks=str(tmp_path / "empty.pt")), progress=False)
