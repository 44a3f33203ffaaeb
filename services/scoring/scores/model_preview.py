"""The preview of a model version before it is published: the whole portfolio scored in memory with it (nothing is
written), and every account whose computed tier would move from what is stored now, by how much."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.features import AsOf
from services.scoring.registry.queries import account_names
from services.scoring.scores.model_versions import active_model
from services.scoring.scores.models import ScoringModelVersion
from services.scoring.scores.portfolio import read_frame, score_frame
from services.scoring.scores.schemas import ModelPreviewRead, PreviewMove, TierMoveCount
from services.scoring.scores.tiers import overridden_accounts
from services.scoring.scoring_model import parse_definition, validate_definition
from shared.api import PageParams
from shared.vocabulary import TIER_CODES, TIER_LABELS

RANK: dict[str, int] = {tier: index for index, tier in enumerate(TIER_CODES)}  # strategic 0 … maintain 3
LABELS: dict[str, tuple[str, str]] = {str(tier): labels for tier, labels in TIER_LABELS.items()}


@dataclass(frozen=True)
class Move:
    """One account's computed tier and score now and under the previewed model."""

    account_id: str
    current_tier: str | None
    current_score: Decimal | None
    draft_tier: str
    draft_score: Decimal

    @property
    def steps(self) -> int:
        """Tiers up (+) or down (−); 0 for an account never scored."""
        return 0 if self.current_tier is None else RANK[self.current_tier] - RANK[self.draft_tier]

    @property
    def delta(self) -> Decimal | None:
        """Score under the previewed model − score now."""
        return None if self.current_score is None else self.draft_score - self.current_score

    def order(self) -> tuple[int, Decimal, str]:
        """Biggest moves first: most tiers, then most points, then by id (a stable order for paging)."""
        return -abs(self.steps), -abs(self.delta or Decimal(0)), self.account_id


def _label(tier: str | None, lang: int) -> str:
    return "—" if tier is None else LABELS[tier][lang]


def count_moves(moves: list[Move]) -> list[TierMoveCount]:
    """How many accounts move from each tier to each other (best tiers first; never scored last)."""
    counts = Counter((m.current_tier, m.draft_tier) for m in moves)
    keys = sorted(counts, key=lambda k: (RANK.get(k[0] or "", len(RANK)), RANK[k[1]]))
    return [
        TierMoveCount(
            from_tier=old,
            to_tier=new,
            count=counts[(old, new)],
            label_zh=f"{_label(old, 0)} → {_label(new, 0)}",
            label_en=f"{_label(old, 1)} → {_label(new, 1)}",
        )
        for old, new in keys
    ]


async def preview_model(
    session: AsyncSession, *, model: ScoringModelVersion, at: AsOf, page: PageParams
) -> ModelPreviewRead:
    """Score every account with ``model`` as a full re-score does — the same vectorised pass over the portfolio's
    columns (``portfolio.read_frame`` / ``score_frame``: percentiles and the top-N % rule over the whole portfolio)
    — and compare with the stored computed tiers; writes nothing."""
    definition = parse_definition(model.definition)
    validate_definition(definition)
    frame = await read_frame(session, at.today, with_stored=True)
    scored = score_frame(definition, frame)
    tiers, stored_tiers = scored.tiers, frame.stored_tiers
    moves = sorted(
        (
            Move(account_id, stored_tiers[i], frame.stored_scores[i], tiers[i], scored.scores.total(i))
            for i, account_id in enumerate(frame.columns.ids)
            if tiers[i] != stored_tiers[i]
        ),
        key=Move.order,
    )
    shown = moves[page.offset : page.offset + page.limit]
    ids = [m.account_id for m in shown]
    names = await account_names(session, ids)
    overridden = await overridden_accounts(session, ids, at.now)
    published = await active_model(session)
    now_counts = Counter(t for t in stored_tiers if t is not None)
    draft_counts = Counter(tiers)
    return ModelPreviewRead(
        version=model.version,
        status=model.status,
        published_version=published.version if published else None,
        accounts=len(tiers),
        changed=len(moves),
        moves=count_moves(moves),
        distribution=[
            {
                "tier": tier,
                "label_zh": zh,
                "label_en": en,
                "current": now_counts.get(tier, 0),
                "draft": draft_counts.get(tier, 0),
            }
            for tier, (zh, en) in TIER_LABELS.items()
        ],
        items=[
            PreviewMove(
                account_id=m.account_id,
                name=names.get(m.account_id, ""),
                current_tier=m.current_tier,
                current_score=m.current_score,
                draft_tier=m.draft_tier,
                draft_score=m.draft_score,
                score_delta=m.delta,
                tier_steps=m.steps,
                direction="new" if m.current_tier is None else ("up" if m.steps > 0 else "down"),
                overridden=m.account_id in overridden,
            )
            for m in shown
        ],
        total=len(moves),
        limit=page.limit,
        offset=page.offset,
    )
