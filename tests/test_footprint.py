"""Footprint: the peak memory autograd holds for backward, and wall time."""

import torch

from dc_lib.core.footprint import Footprint


def test_the_saved_memory_of_a_product_is_its_two_inputs():
    a = torch.randn(1000, requires_grad=True)
    b = torch.randn(1000, requires_grad=True)
    with Footprint() as cost:
        (a * b).sum().backward()
    assert cost.peak_saved_bytes == 2 * 1000 * 4  # a * b saves a and b for its backward
    assert cost.seconds >= 0 and cost.cuda_peak_bytes is None


def test_a_deeper_graph_held_at_once_costs_more_than_one_step_at_a_time():
    w = torch.randn(100, 100, requires_grad=True)

    def chain(steps):
        x = torch.randn(100, 100)
        for _ in range(steps):
            x = torch.tanh(x @ w)
        return x.sum()

    with Footprint() as one:
        for _ in range(5):
            chain(1).backward()  # each graph is freed before the next is built
    with Footprint() as unrolled:
        chain(5).backward()  # all five steps kept until backward
    assert unrolled.peak_saved_bytes > 3 * one.peak_saved_bytes


def test_a_storage_saved_twice_is_counted_once():
    a = torch.randn(500, requires_grad=True)
    with Footprint() as cost:
        (a * a).sum().backward()
    assert cost.peak_saved_bytes == 500 * 4
