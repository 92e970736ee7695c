"""The spike watch over the finite training losses: a running mean (0.9 old, 0.1 new), and
a spike when a loss is 3x that mean and at least 1 above it, until the loss is back below
1.5x the mean it left or within 1 of it."""
from __future__ import annotations

SPIKE_RATIO, SPIKE_FLOOR = 3.0, 1.0
MAX_SPIKES = 20  # spikes kept (the first ones)


def watch(iterations, losses, mean: float | None, spike: dict | None,
          spikes: list[dict]) -> tuple[float | None, dict | None, int]:
    """Follows `losses` (iteration numbers as int or as the log spells them) one by one
    from the state (mean, spike); returns the new state and how many losses are finite.
    A spike that ends is added to `spikes`."""
    finite = 0
    for index, loss in enumerate(losses):
        if loss - loss != 0.0:  # NaN or inf: not part of the mean
            continue
        finite += 1
        if spike is None:
            if mean is None:
                mean = loss
            elif loss > SPIKE_RATIO * mean and loss - mean > SPIKE_FLOOR:
                iteration = int(iterations[index])
                spike = {"start": iteration, "baseline": mean, "peak": loss,
                         "peak_iteration": iteration}
            else:
                mean = 0.9 * mean + 0.1 * loss
            continue
        if loss > spike["peak"]:
            spike["peak"], spike["peak_iteration"] = loss, int(iterations[index])
        baseline = spike["baseline"]
        if loss < 1.5 * baseline or loss - baseline < SPIKE_FLOOR:
            spike["recovered_at"] = int(iterations[index])
            if len(spikes) < MAX_SPIKES:
                spikes.append(spike)
            spike = None
    return mean, spike, finite
