"""Making a small set by method name, saved so that nothing is lost (dc_lib.methods.condense)."""

import pytest
import torch

from dc_lib.core.config import OWN_DATA
from dc_lib.core.synset import SyntheticSet
from dc_lib.methods import condense as condense_module
from dc_lib.methods.condense import condense, condense_to

SMOKE = OWN_DATA["smoke"]


def test_an_unknown_method_lists_the_valid_ones(tiny_real):
    with pytest.raises(ValueError, match="valid: dm, dc, dsa, random, herding, kcenter, forgetting"):
        condense(tiny_real, "gan", 1, SMOKE)


def test_a_set_carries_the_class_names_of_its_data(tiny_real):
    syn = condense(tiny_real, "random", 1, SMOKE)
    assert syn.class_names == tiny_real.info.class_names()


def test_condense_to_saves_the_set_and_its_grid_and_drops_the_checkpoint(tiny_real, tmp_path):
    syn = condense_to(tmp_path / "s.pt", tiny_real, "dm", 1, SMOKE, iterations=2, progress=False)
    assert torch.equal(SyntheticSet.load(tmp_path / "s.pt").images, syn.images)
    assert (tmp_path / "s.png").is_file() and not (tmp_path / "s.ckpt").exists()


def test_a_finished_set_is_reused_not_made_again(tiny_real, tmp_path, monkeypatch):
    first = condense_to(tmp_path / "s.pt", tiny_real, "dm", 1, SMOKE, iterations=2, progress=False)
    monkeypatch.setattr(condense_module, "condense", lambda *a, **k: pytest.fail("made again"))
    again = condense_to(tmp_path / "s.pt", tiny_real, "dm", 1, SMOKE, iterations=2, progress=False)
    assert torch.equal(first.images, again.images)


def test_a_set_of_other_iterations_is_made_again(tiny_real, tmp_path):
    condense_to(tmp_path / "s.pt", tiny_real, "dm", 1, SMOKE, iterations=1, progress=False)
    assert condense_to(tmp_path / "s.pt", tiny_real, "dm", 1, SMOKE, iterations=2, progress=False).iteration == 2


def test_a_corrupted_file_at_the_path_is_made_again_with_a_warning(tiny_real, tmp_path):
    (tmp_path / "s.pt").write_bytes(b"\x80garbage")
    with pytest.warns(UserWarning, match="s.pt"):
        syn = condense_to(tmp_path / "s.pt", tiny_real, "random", 1, SMOKE)
    assert SyntheticSet.load(tmp_path / "s.pt").ipc == syn.ipc == 1


def test_dsa_by_name_starts_from_real_images_and_dc_from_noise(tiny_real):
    assert condense(tiny_real, "dsa", 1, SMOKE, iterations=1, progress=False).config["init"] == "real"
    assert condense(tiny_real, "dc", 1, SMOKE, iterations=1, progress=False).config["init"] == "noise"
