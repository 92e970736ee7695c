"""The detection lines of the terminal summary: boxes per class, and what SSD's data layer
silently takes away."""
from __future__ import annotations


def terminal_lines(report: dict) -> list[str]:
    stats = report["stats"].get("detection")
    if not stats:
        return []
    classes = ", ".join(f"{label}: {count}" for label, count in
                        stats["boxes_per_class"].items()) or "-"
    area = stats["area_quantiles"]
    lines = [f"Boxes: {stats['boxes']} in {stats['records']} images (per class {classes}); "
             f"{stats['difficult']} difficult"
             + (f"; area (share of the image) median {area['p50']:.3g}, "
                f"5-95% {area['p5']:.3g}-{area['p95']:.3g}" if area else "")]
    lost = report["verdict"].get("lost_objects")
    if lost and lost["whole_run"]:
        lines.append("Lost objects: the first record has no type, so no box reaches the loss "
                     "in the whole run")
    elif lost:
        lines.append(f"Lost objects: {lost['boxes']} box(es) dropped silently in "
                     f"{lost['records']} record(s); {lost['records_without_boxes']} image(s) "
                     f"train as pure background; {lost['boxes_clipped']} box(es) clipped")
    batches = stats["batches"]
    if batches:
        coverage = batches["distinct_classes_per_batch"]
        lines.append(f"Box classes per batch of {batches['batch_size']}: "
                     f"{coverage['min']}/{coverage['median']:g}/{coverage['max']} "
                     f"min/median/max of {batches['classes']} (a shuffle: "
                     f"{coverage['expected_if_shuffled']:g}); "
                     f"{batches['batches_missing_classes']} batch(es) missing a class")
    return lines
