"""The demo study's respondents: three groups of team leads with different unmet needs.

Plausible, not real: each group finds its own set of outcomes important and poorly served today,
respondents differ in how they use the scale (some rate everything high or low), and the
groups lean towards different company sizes and current solutions, so segments have something
true to show from the first minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

GROUPS = {
    # name: (share, unmet outcome codes, company size weights, current solution weights)
    "getting people started": (
        0.40,
        ["O009", "O022", "O025", "O026", "O027", "O029", "O038"],
        [0.55, 0.35, 0.10],
        [0.45, 0.35, 0.10, 0.10],
    ),
    "seeing real adoption": (
        0.33,
        ["O031", "O032", "O033", "O034", "O035", "O036", "O045"],
        [0.10, 0.35, 0.55],
        [0.20, 0.20, 0.50, 0.10],
    ),
    "moving off the old tool": (
        0.27,
        ["O010", "O015", "O016", "O021", "O028", "O041", "O043", "O044"],
        [0.25, 0.45, 0.30],
        [0.15, 0.15, 0.60, 0.10],
    ),
}
UNDERSERVED_FOR_ALL = ["O030", "O041", "O031"]
LOYALTY_DRIVERS = ["O041", "O022", "O030"]
ROLES = ["Team lead", "Operations manager", "IT administrator"]
COMPANY_SIZES = ["1–50 people", "51–500 people", "More than 500 people"]
CURRENT_SOLUTIONS = ["Spreadsheets", "E-mail and chat", "Another software tool"]


@dataclass(frozen=True)
class DemoRespondents:
    importance: np.ndarray  # (n, k) uint8, 1–5, 0 = unanswered
    satisfaction: np.ndarray
    group: np.ndarray  # (n,) index into GROUPS
    role: list[str]
    company_size: list[str]
    team_size: list[int]
    current_solution: list[str]
    nps: np.ndarray
    minutes: np.ndarray


def generate(codes: list[str], n: int = 320, seed: int = 2026) -> DemoRespondents:
    rng = np.random.default_rng(seed)
    k = len(codes)
    index = {c: j for j, c in enumerate(codes)}
    names = list(GROUPS)
    shares = np.array([GROUPS[g][0] for g in names])
    group = rng.choice(len(names), size=n, p=shares / shares.sum())
    base_imp = rng.uniform(3.0, 4.2, size=k)
    base_sat = rng.uniform(2.9, 3.9, size=k)
    # A few needs that nobody's current way of working serves well.
    for code in UNDERSERVED_FOR_ALL:
        if code in index:
            base_imp[index[code]] += 0.4
            base_sat[index[code]] -= 0.9
    unmet = np.zeros((n, k), dtype=bool)
    for g, name in enumerate(names):
        columns = [index[c] for c in GROUPS[name][1] if c in index]
        members = group == g
        unmet[np.ix_(members, columns)] = rng.random((members.sum(), len(columns))) < 0.85
    style = rng.normal(0, 0.5, size=(n, 1))
    imp = base_imp + 1.3 * unmet + style + rng.normal(0, 0.7, size=(n, k))
    sat = base_sat - 1.4 * unmet + style + rng.normal(0, 0.7, size=(n, k))
    importance = np.clip(np.rint(imp), 1, 5).astype(np.uint8)
    satisfaction = np.clip(np.rint(sat), 1, 5).astype(np.uint8)
    importance[rng.random((n, k)) < 0.01] = 0
    satisfaction[rng.random((n, k)) < 0.01] = 0

    def pick(options: list[str], weights_of_group: Literal[2, 3]) -> list[str]:
        out = []
        for g in group:
            weights = np.array(GROUPS[names[g]][weights_of_group][: len(options)], dtype=float)
            out.append(options[rng.choice(len(options), p=weights / weights.sum())])
        return out

    solutions = [*CURRENT_SOLUTIONS, "Nothing formal"]
    # Loyalty follows a few needs in particular: being stuck with the old way of working,
    # not knowing where to get help and urgent work slipping during the switch.
    drivers = [index[c] for c in LOYALTY_DRIVERS if c in index]
    driver_sat = satisfaction[:, drivers].astype(float).mean(axis=1) if drivers else 3.0
    nps = np.clip(
        np.rint(4.6 + 1.5 * driver_sat - 3 * unmet.mean(axis=1) + rng.normal(0, 1.2, size=n)), 0, 10
    )
    return DemoRespondents(
        importance=importance,
        satisfaction=satisfaction,
        group=group,
        role=[ROLES[i] for i in rng.choice(3, size=n, p=[0.6, 0.25, 0.15])],
        company_size=pick(COMPANY_SIZES, 2),
        team_size=[int(x) for x in np.clip(rng.lognormal(2.3, 0.6, size=n), 3, 120)],
        current_solution=pick(solutions, 3),
        nps=nps.astype(int),
        minutes=np.clip(rng.normal(11, 3, size=n), 4, 30),
    )
