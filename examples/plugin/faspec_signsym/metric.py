"""Sign agreement of the method's credit with the BP gradient."""

import torch


def sign_agree(probe):
    """Mean over layers 1..L of the fraction of entries where sign(a_l) == sign(g_l); None for
    a method without credits (frozen)."""
    if probe.credits is None:
        return None
    fracs = [
        (torch.sign(a) == torch.sign(g)).double().mean()
        for a, g in zip(probe.credits[1:], probe.gs[1:], strict=True)
    ]
    return torch.stack(fracs).mean() if fracs else None
