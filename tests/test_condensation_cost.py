"""Table A.T11's measurement: DD's unrolled graph holds more memory than one DC matching step."""

import math

from dc_lib.methods.dataset_distillation import DDConfig
from dc_lib.methods.gradient_matching import GMConfig
from dc_lib.runs.condensation_cost import condensation_cost, protocol_minutes


def test_dd_holds_more_for_backward_than_dc_on_the_same_network_and_set(tiny_real):
    dc = condensation_cost(tiny_real, 2, GMConfig(arch="lenet", batch_real=8, loops=(2, 1)), iterations=1)
    dd = condensation_cost(tiny_real, 2, DDConfig(arch="lenet", batch_real=8, steps=2, epochs=3), iterations=1)
    assert dd["peak_saved_mb"] > dc["peak_saved_mb"] > 0
    assert dc["seconds_per_iteration"] > 0 and math.isnan(dc["cuda_peak_mb"])


def test_a_protocol_takes_the_measured_rate_times_its_iterations():
    assert protocol_minutes(0.5, 1200) == 10.0
