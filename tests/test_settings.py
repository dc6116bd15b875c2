import pytest

from dc_lib.runs.settings import parse_setting


def test_an_empty_setting_is_the_default_convnet_with_our_distance():
    s = parse_setting("")
    assert (s.condense_net, s.eval_net, s.metric, s.aug, s.canonical) == ({}, {}, "ours", None, "")


def test_c_and_t_keys_go_to_the_condensing_and_the_evaluation_network():
    s = parse_setting("act_c=sigmoid;act_t=leakyrelu")
    assert s.condense_net == {"act": "sigmoid"} and s.eval_net == {"act": "leakyrelu"}


def test_thesis_pooling_names_map_to_the_model_names_and_sizes_to_integers():
    s = parse_setting("pool_c=maxpool;depth_t=4")
    assert s.condense_net == {"pooling": "maxpooling"} and s.eval_net == {"depth": 4}


def test_settings_that_differ_only_in_defaults_are_the_same_experiment():
    assert parse_setting("act_c=relu;act_t=relu").canonical == parse_setting("").canonical
    assert parse_setting("aug=combination").canonical == ""
    assert parse_setting("norm=instancenorm").canonical == ""  # chapter 5's label


def test_only_condensing_options_name_the_saved_set():
    assert parse_setting("width_c=32;width_t=256").condense_tag == "width_c-32"
    assert parse_setting("width_c=128;width_t=256").condense_tag == ""
    assert parse_setting("distance=euclidean").condense_tag == "distance-euclidean"


def test_table_a_t7_distance_names_map_to_the_gradient_distances():
    assert [parse_setting(f"distance={d}").metric for d in ("ours", "euclidean", "cosine")] == ["ours", "mse", "cos"]


def test_the_thesis_spelling_of_dcs_own_distance_is_the_default_experiment():
    ours = parse_setting("distance=ours_layerwise_cosine")
    assert ours.metric == "ours" and ours.canonical == "" and ours.condense_tag == ""


@pytest.mark.parametrize("bad", ["act_c=tanh", "pool_t=sum", "depth_c=0", "colour=red", "aug=blur", "act_c",
                                 "eval_aug=crop", "iteration=-1", "iteration=ten"])
def test_bad_settings_are_rejected_with_the_valid_choices(bad):
    with pytest.raises(ValueError):
        parse_setting(bad)


def test_eval_aug_fixes_the_evaluation_augmentation_without_naming_a_new_set_or_experiment():
    setting = parse_setting("eval_aug=classic")
    assert setting.eval_aug == "classic" and parse_setting("").eval_aug is None
    assert setting.condense_tag == "" and setting.canonical == ""


def test_table_4_4_schemes_say_where_augmentation_goes():
    assert (parse_setting("scheme=c;aug=crop").sides, parse_setting("scheme=c;aug=crop").test_aug) == ("real", True)
    assert (parse_setting("scheme=E;aug=crop").sides, parse_setting("scheme=E;aug=crop").test_aug) == ("siamese", False)
    assert parse_setting("scheme=a;aug=crop").sides is None


def test_scheme_a_is_one_experiment_whatever_the_op():
    assert parse_setting("scheme=a;aug=crop").canonical == parse_setting("scheme=a;aug=flip").canonical


def test_dsa_with_one_op_is_the_same_experiment_in_tables_4_4_and_4_5():
    ours = parse_setting("scheme=ours;condense_real=A_w;condense_syn=A_w;test_syn=A;aug=crop")
    assert ours.canonical == parse_setting("aug=crop").canonical
    assert ours.condense_tag == parse_setting("scheme=e;aug=crop").condense_tag  # E condenses as DSA does


def test_a_snapshot_iteration_is_its_own_experiment_and_does_not_name_a_new_set():
    snapshot = parse_setting("iteration=0200")
    assert snapshot.canonical == "iteration=200" != parse_setting("").canonical
    assert snapshot.condense_tag == ""
