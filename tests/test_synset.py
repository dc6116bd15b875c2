import torch
from PIL import Image

from dc_lib.core.synset import SyntheticSet
from dc_lib.methods.baselines import select_random


def test_save_load_round_trip_keeps_everything(tiny_real, tmp_path):
    syn = select_random(tiny_real, 2, seed=4)
    syn.metrics = {"loss": 1.5}
    syn.save(tmp_path / "s.pt")
    back = SyntheticSet.load(tmp_path / "s.pt")
    assert torch.equal(back.images, syn.images) and torch.equal(back.labels, syn.labels)
    assert (back.dataset, back.method, back.ipc, back.seed) == ("mnist", "random", 2, 4)
    assert back.config == syn.config and back.metrics == {"loss": 1.5}
    assert back.mean == (0.1307,) and back.std == (0.3081,)


def test_png_grid_has_one_row_per_class(tiny_real, tmp_path):
    syn = select_random(tiny_real, 3, seed=0)
    syn.save_png(tmp_path / "grid.png")
    width, height = Image.open(tmp_path / "grid.png").size
    assert height == 10 * 29 + 1 and width == 3 * 29 + 1


def test_image_space_is_within_zero_and_one(tiny_real):
    img = select_random(tiny_real, 1).to_image_space()
    assert img.min() >= 0 and img.max() <= 1


def test_random_selection_picks_real_images_of_each_class(tiny_real):
    syn = select_random(tiny_real, 2, seed=1)
    for img, label in zip(syn.images, syn.labels):
        members = tiny_real.x_train[tiny_real.indices_class[int(label)]]
        assert any(torch.equal(img, m) for m in members)


def test_an_empty_set_file_is_named_not_an_eof_error(tmp_path):
    import pytest

    from dc_lib.core.synset import SetFileError, SyntheticSet

    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(SetFileError, match="empty.pt"):
        SyntheticSet.load(tmp_path / "empty.pt")


def test_a_checkpoint_loaded_as_a_set_is_named_not_a_key_error(tiny_real, tmp_path):
    import pytest

    from dc_lib.core.checkpoint import Checkpointing
    from dc_lib.core.synset import SetFileError, SyntheticSet
    from dc_lib.methods.distribution_matching import DMConfig, condense_dm

    condense_dm(tiny_real, 1, DMConfig(iterations=2, batch_real=4),
                checkpoint=Checkpointing(tmp_path / "s.ckpt", 1, keep=True), progress=False)
    with pytest.raises(SetFileError, match="s.ckpt"):
        SyntheticSet.load(tmp_path / "s.ckpt")
