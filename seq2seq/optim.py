"""Adam (Kingma & Ba, 2015) written from the algorithm.

``adam_update`` is the update of one parameter, the paper's Algorithm 1 line by line; read it first. ``Adam.step``
computes the same numbers for every parameter at once (a test checks it against ``adam_update``):

    g   <- g + weight_decay * p                       (L2, as torch.optim.Adam; skipped when decoupled)
    m   <- beta1 * m + (1 - beta1) * g
    v   <- beta2 * v + (1 - beta2) * g^2
    p   <- p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)

With ``decoupled_weight_decay=True`` the decay is applied to the weights directly, p <- p * (1 - lr * weight_decay),
before the update: AdamW (Loshchilov & Hutter, 2019).

Speed: ``_foreach_adam`` does the update with ``torch._foreach_*`` calls, each one pass over every tensor it is
given, six passes in all. Over a whole model of large tensors those passes stream p, g, m and v through memory six
times, where torch's per-tensor loop keeps one tensor's four in cache; over many small tensors one call per pass is
what saves time. So ``Adam._chunks`` hands the update cache-sized chunks, each about ``CHUNK_ELEMENTS`` numbers:
small tensors share a chunk, large ones are cut into flat slices (views, so the update lands in the tensors
themselves). The slices of p, m and v are made once and kept while the parameters and their state stay the same
tensors.
"""

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

# Numbers per chunk, chosen by timing 2**13 to 2**17 and no chunking on both kinds of model (benchmarks/speed.py):
# the five streams of a chunk (p, g, m, v and the denominator) take 1.25 MB of float32, about what a core's caches hold.
CHUNK_ELEMENTS = 2**16


def adam_update(
    p: Tensor,
    g: Tensor,
    m: Tensor,
    v: Tensor,
    t: int,
    lr: float,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled_weight_decay: bool = False,
) -> None:
    """Step ``t`` (from 1) of Adam for one parameter ``p`` with gradient ``g``, updating ``p`` and its first and second
    moment estimates ``m`` and ``v`` in place: Algorithm 1 of the paper, plus the optional weight decay."""
    beta1, beta2 = betas
    if weight_decay != 0:
        if decoupled_weight_decay:
            p.mul_(1 - lr * weight_decay)  # AdamW: decay the weight itself
        else:
            g = g + weight_decay * p  # L2: decay through the gradient
    m.mul_(beta1).add_((1 - beta1) * g)  # m_t = beta1 m_{t-1} + (1 - beta1) g_t
    v.mul_(beta2).add_((1 - beta2) * g * g)  # v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
    m_hat = m / (1 - beta1**t)  # bias-corrected first moment
    v_hat = v / (1 - beta2**t)  # bias-corrected second moment
    p.sub_(lr * m_hat / (v_hat.sqrt() + eps))  # theta_t = theta_{t-1} - lr m_hat / (sqrt(v_hat) + eps)


def _foreach_adam(
    ps: list[Tensor],
    gs: list[Tensor],
    ms: list[Tensor],
    vs: list[Tensor],
    t: int,
    group: dict,
) -> None:
    """``adam_update`` on every tensor of the lists at once, one ``torch._foreach_*`` pass per line."""
    beta1, beta2 = group["betas"]
    lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
    bias_correction1 = 1 - beta1**t
    bias_correction2_sqrt = math.sqrt(1 - beta2**t)
    if wd != 0:
        if group["decoupled_weight_decay"]:
            torch._foreach_mul_(ps, 1 - lr * wd)
        else:
            gs = torch._foreach_add(gs, ps, alpha=wd)
    torch._foreach_lerp_(ms, gs, 1 - beta1)  # m <- beta1 m + (1 - beta1) g
    torch._foreach_mul_(vs, beta2)
    torch._foreach_addcmul_(vs, gs, gs, value=1 - beta2)
    # p <- p - lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps), with sqrt(bc2) moved out of the denominator:
    # lr * sqrt(bc2)/bc1 * m / (sqrt(v) + eps * sqrt(bc2)), the same number in one pass fewer
    denom = torch._foreach_sqrt(vs)
    torch._foreach_add_(denom, eps * bias_correction2_sqrt)
    torch._foreach_addcdiv_(ps, ms, denom, value=-lr * bias_correction2_sqrt / bias_correction1)


Piece = tuple[int, int, int]  # (index of the parameter in its group's list, first element, end element)


@dataclass
class _Plan:
    """How one group's parameters are cut into chunks, with the views of p, m and v that the chunks update."""

    params: list[Tensor]
    states: list[tuple[Tensor, Tensor]]  # (exp_avg, exp_avg_sq) of each parameter, as the views were made from them
    chunks: list[list[Piece]]
    views: list[tuple[list[Tensor], list[Tensor], list[Tensor]]]  # per chunk: p, m and v pieces

    def fits(self, params: list[Tensor], states: list[tuple[Tensor, Tensor]]) -> bool:
        return (
            len(params) == len(self.params)
            and all(a is b for a, b in zip(params, self.params, strict=True))
            and all(a[0] is b[0] and a[1] is b[1] for a, b in zip(states, self.states, strict=True))
        )


def _piece(tensor: Tensor, start: int, end: int) -> Tensor:
    """Elements ``start:end`` of a contiguous tensor as a flat view; a non-contiguous one is only ever taken whole."""
    if not tensor.is_contiguous():
        return tensor
    return tensor.view(-1)[start:end]


def plan_chunks(params: list[Tensor], limit: int = CHUNK_ELEMENTS) -> list[list[Piece]]:
    """Cut parameters into chunks of at most ``limit`` numbers (a non-contiguous tensor, which cannot be sliced flat,
    is one piece of its own). Every element of every parameter is in exactly one piece."""
    chunks: list[list[Piece]] = []
    current: list[Piece] = []
    size = 0
    for index, p in enumerate(params):
        n = p.numel()
        step = limit if p.is_contiguous() else max(n, 1)
        for start in range(0, max(n, 1), step):
            end = min(n, start + step)
            if current and size + (end - start) > limit:
                chunks.append(current)
                current, size = [], 0
            current.append((index, start, end))
            size += end - start
    if current:
        chunks.append(current)
    return chunks


class Adam(torch.optim.Optimizer):
    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        chunk_elements: int = CHUNK_ELEMENTS,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"invalid learning rate: {lr}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"invalid betas: {betas}")
        if not eps >= 0.0:
            raise ValueError(f"invalid eps: {eps}")
        if not weight_decay >= 0.0:
            raise ValueError(f"invalid weight_decay: {weight_decay}")
        if not chunk_elements >= 1:
            raise ValueError(f"invalid chunk_elements: {chunk_elements}")
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay
        )
        super().__init__(params, defaults)
        self.chunk_elements = chunk_elements
        self._plans: dict[int, _Plan] = {}  # per group index; rebuilt when its parameters or state tensors change

    def _plan(self, index: int, params: list[Tensor]) -> _Plan:
        states = [(self.state[p]["exp_avg"], self.state[p]["exp_avg_sq"]) for p in params]
        plan = self._plans.get(index)
        if plan is None or not plan.fits(params, states):
            chunks = plan_chunks(params, self.chunk_elements)
            views = [
                (
                    [_piece(params[i], s, e) for i, s, e in chunk],
                    [_piece(states[i][0], s, e) for i, s, e in chunk],
                    [_piece(states[i][1], s, e) for i, s, e in chunk],
                )
                for chunk in chunks
            ]
            plan = self._plans[index] = _Plan(list(params), states, chunks, views)
        return plan

    def _chunks(self, index: int, params: list[Tensor]) -> Iterator[tuple[list[Tensor], ...]]:
        """The parameters of group ``index`` with their gradients, m and v, cut into cache-sized chunks: per chunk,
        the lists (p, g, m, v) of flat views into the tensors themselves."""
        plan = self._plan(index, params)
        grads = [p.grad if p.grad.stride() == p.stride() else p.grad.contiguous() for p in params]
        for chunk, (ps, ms, vs) in zip(plan.chunks, plan.views, strict=True):
            yield ps, [_piece(grads[i], s, e) for i, s, e in chunk], ms, vs

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for index, group in enumerate(self.param_groups):
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
            # Parameters of one group are created together, so they share a step count.
            t = self.state[params[0]]["step"]
            for ps, gs, ms, vs in self._chunks(index, params):
                _foreach_adam(ps, gs, ms, vs, t, group)
        return loss
