"""Host-to-device copies of the hot loops' draws (dc_lib.core.transfer): same values, no host stall on CUDA."""

import warnings

import pytest
import torch
import torch.nn as nn

from dc_lib.core.transfer import copy_into, module_to_device, to_device
from dc_lib.methods.distribution_matching import DMConfig, condense_dm
from dc_lib.methods.watch import Watch

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_a_copy_to_the_cpu_is_the_tensor_itself():
    t = torch.arange(5)
    assert to_device(t, "cpu") is t


def test_a_module_moved_to_the_cpu_keeps_its_weights():
    torch.manual_seed(0)
    net = nn.Linear(3, 2)
    before = net.weight.clone()
    assert module_to_device(net, "cpu") is net and torch.equal(net.weight, before)


def test_a_copy_into_a_tensor_keeps_its_address():
    dst, src = torch.zeros(3), torch.arange(3.0)
    address = dst.data_ptr()
    assert copy_into(dst, src) is dst and dst.data_ptr() == address and torch.equal(dst, src)


@cuda
def test_a_copy_into_a_cuda_tensor_keeps_its_address_and_has_the_values():
    dst, src = torch.zeros(3, device="cuda"), torch.arange(3.0)
    address = dst.data_ptr()
    copy_into(dst, src)
    assert dst.data_ptr() == address and torch.equal(dst.cpu(), src)


@cuda
def test_a_copy_to_cuda_has_the_same_values():
    t = torch.randn(4, 3)
    assert torch.equal(to_device(t, "cuda").cpu(), t)


@cuda
def test_a_module_moved_to_cuda_has_the_same_weights_and_stays_trainable():
    torch.manual_seed(0)
    net = nn.Linear(3, 2)
    weights = net.weight.detach().clone()
    moved = module_to_device(net, "cuda")
    assert moved.weight.is_cuda and isinstance(moved.weight, nn.Parameter)
    assert torch.equal(moved.weight.detach().cpu(), weights)


@cuda
def test_dm_iterations_between_two_loss_reads_make_no_host_sync(tiny_real):
    # DM reads its loss (a sync) every 10 iterations; the iterations in between must queue their work
    # without waiting on the GPU: no blocking copy of a draw, no .item().
    real = tiny_real.to("cuda")
    warned_by_iteration = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            condense_dm(real, 1, DMConfig(iterations=9, batch_real=4), progress=False,
                        watch=Watch(on_iteration=lambda k, images: warned_by_iteration.setdefault(k, len(caught))))
        finally:
            torch.cuda.set_sync_debug_mode("default")
    assert warned_by_iteration[8] == warned_by_iteration[1], [str(w.message) for w in caught][:5]
