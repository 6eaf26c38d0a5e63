"""Hedge policies: where a leg's hedge ratio h comes from (SPEC §6, notes/floor-policy.md).

`constant` (a fixed h), CPPI and TIPP (`cppi`), and a self-financing synthetic put (`put`): each
a pure function of the leg's values, its parameters and its journaled state, reached through
`evaluate`. The shell's side (journal, flows, volatility samples) is `keeper.PolicyKeeper`.
"""

from hedgekeeper.policy.dispatch import Evaluation, evaluate, needs_volatility, rebalance
from hedgekeeper.policy.spec import (
    ConstantPolicy,
    CppiPolicy,
    PolicyError,
    PolicyKind,
    PolicySpec,
    PutPolicy,
    SpecError,
    describe,
    multiplier_problem,
    parse_spec,
)
from hedgekeeper.policy.state import PolicyState, PutRoll, rescale
from hedgekeeper.policy.values import LegValues, hedge_ratio

__all__ = [
    "ConstantPolicy",
    "CppiPolicy",
    "Evaluation",
    "LegValues",
    "PolicyError",
    "PolicyKind",
    "PolicySpec",
    "PolicyState",
    "PutPolicy",
    "PutRoll",
    "SpecError",
    "describe",
    "evaluate",
    "hedge_ratio",
    "multiplier_problem",
    "needs_volatility",
    "parse_spec",
    "rebalance",
    "rescale",
]
