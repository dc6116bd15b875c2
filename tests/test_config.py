import pytest

from dc_lib.core.config import PROFILES, dm_iterations, get_profile


def test_paper_profile_is_the_thesis_protocol():
    p = get_profile("paper")
    assert (p.dm_iterations, p.batch_real, p.num_sets, p.num_nets, p.eval_epochs) == (20000, 256, 5, 20, 1000)
    assert not p.reduced


def test_reduced_profiles_say_so_in_their_budget():
    for name in ("smoke", "cpu"):
        p = get_profile(name)
        assert p.reduced and f"K={p.dm_iterations}" in p.budget() and f"nets={p.num_nets}" in p.budget()


def test_unknown_profile_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Valid profiles: smoke, cpu, paper"):
        get_profile("gpu")


def test_overrides_replace_single_budgets_and_reject_unknown_fields():
    assert get_profile("cpu", num_nets=7).num_nets == 7
    with pytest.raises(ValueError, match="Unknown profile field"):
        get_profile("cpu", nets=7)


def test_tinyimagenet_uses_half_the_iterations_in_the_paper_profile():
    assert dm_iterations(PROFILES["paper"], "tinyimagenet") == 10000
    assert dm_iterations(PROFILES["paper"], "cifar10") == 20000


def test_gradient_matching_iterations_can_differ_above_one_image_per_class():
    from dc_lib.core.config import gm_iterations

    cpu, paper = get_profile("cpu"), get_profile("paper")
    assert gm_iterations(paper, 1) == gm_iterations(paper, 10) == 1000
    assert gm_iterations(cpu, 10) == cpu.gm_iterations_multi != gm_iterations(cpu, 1)


def test_a_chapter_plan_can_give_its_dsa_sets_their_own_iterations_above_one_image_per_class():
    from dc_lib.core.config import gm_iterations

    cpu = get_profile("cpu")
    assert gm_iterations(cpu, 10, "dsa", 4) == cpu.chapter4.dsa_iterations_multi != gm_iterations(cpu, 10)
    assert gm_iterations(cpu, 10, "dc", 4) == gm_iterations(cpu, 10, "dsa", 3) == gm_iterations(cpu, 10)
    assert gm_iterations(cpu, 1, "dsa", 4) == cpu.gm_iterations


def test_small_runs_exist_for_the_three_profiles_and_say_their_budget():
    from dc_lib.core.config import OWN_DATA, QUICKSTART, small_run

    for plan in (QUICKSTART, OWN_DATA):
        assert set(plan) == {"smoke", "cpu", "paper"}
        assert small_run(plan, "paper").iterations == 20000 and small_run(plan, "paper").nets == 20
    assert small_run(QUICKSTART, "cpu").budget().startswith("K=200;")


def test_an_unknown_small_run_profile_lists_the_valid_ones():
    from dc_lib.core.config import QUICKSTART, small_run

    with pytest.raises(ValueError, match="Valid profiles: smoke, cpu, paper"):
        small_run(QUICKSTART, "fast")


def test_dc_profile_in_the_environment_overrides_a_notebook_default(monkeypatch):
    from dc_lib.core.config import notebook_profile

    monkeypatch.delenv("DC_PROFILE", raising=False)
    assert notebook_profile("cpu") == "cpu"
    monkeypatch.setenv("DC_PROFILE", "smoke")
    assert notebook_profile("cpu") == "smoke"


def test_a_misspelt_a_t7_network_is_refused_with_the_valid_ones():
    import pytest

    from dc_lib.core.config import GradientMatchingPlan

    with pytest.raises(ValueError, match=r"distance_archs: unknown architecture\(s\) \['lenett'\]; valid: mlp"):
        GradientMatchingPlan(("mnist",), (1,), distance_archs=("lenett",))
